using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace WebRtcCdn.Core.Signaling;

/// <summary>The outcome of checking a join token against a swarm.</summary>
public enum JoinTokenStatus
{
    Valid,
    Malformed,
    BadSignature,
    Expired,
    WrongSwarm,
}

/// <summary>
/// Join tokens: <c>base64url(payload JSON) "." base64url(HMAC-SHA256(secret, first part))</c>, the payload being
/// <c>{"swarm":"&lt;scope&gt;","exp":&lt;unix seconds&gt;}</c>. The scope is a swarm id, a prefix ending in <c>*</c>
/// (<c>"videos/*"</c>), or <c>"*"</c> for every swarm. A publisher's backend mints them with the shared secret
/// (docs/PROTOCOL.md has a test vector); the signaling server only verifies.
/// </summary>
public static class JoinToken
{
    /// <summary>Tokens are short; 2 KiB refuses a huge header before any work.</summary>
    public const int MaxLength = 2048;

    public static string Create(string secret, string scope, DateTimeOffset expires)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        ArgumentException.ThrowIfNullOrEmpty(scope);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("swarm", scope);
            writer.WriteNumber("exp", expires.ToUnixTimeSeconds());
            writer.WriteEndObject();
        }

        var payload = UrlSafeBase64.Encode(buffer.ToArray());
        return payload + "." + UrlSafeBase64.Encode(Sign(secret, payload));
    }

    public static JoinTokenStatus Verify(string secret, string? token, string swarm, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxLength)
        {
            return JoinTokenStatus.Malformed;
        }

        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || !UrlSafeBase64.TryDecode(token[(dot + 1)..], out var signature) || !UrlSafeBase64.TryDecode(token[..dot], out var payload))
        {
            return JoinTokenStatus.Malformed;
        }

        if (!CryptographicOperations.FixedTimeEquals(signature, Sign(secret, token[..dot])))
        {
            return JoinTokenStatus.BadSignature;
        }

        string? scope;
        long expiry;
        try
        {
            using var doc = JsonDocument.Parse(payload);
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("swarm", out var s) || s.ValueKind != JsonValueKind.String
                || !doc.RootElement.TryGetProperty("exp", out var e) || e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out expiry))
            {
                return JoinTokenStatus.Malformed;
            }

            scope = s.GetString();
        }
        catch (JsonException)
        {
            return JoinTokenStatus.Malformed;
        }

        if (now.ToUnixTimeSeconds() >= expiry)
        {
            return JoinTokenStatus.Expired;
        }

        return InScope(scope!, swarm) ? JoinTokenStatus.Valid : JoinTokenStatus.WrongSwarm;
    }

    public static bool InScope(string scope, string swarm) =>
        scope == "*" || scope == swarm || (scope.EndsWith('*') && swarm.StartsWith(scope[..^1], StringComparison.Ordinal));

    private static byte[] Sign(string secret, string payload) =>
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(payload));
}
