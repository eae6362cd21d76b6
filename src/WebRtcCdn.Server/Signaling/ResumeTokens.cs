using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using WebRtcCdn.Core.Signaling;

namespace WebRtcCdn.Server.Signaling;

/// <summary>
/// Resume tokens let a reconnecting client keep its server-issued peer id:
/// <c>base64url(peer id bytes ‖ expiry unix seconds, 8 bytes big-endian) "." base64url(HMAC-SHA256(key, first part))</c>.
/// The key is signaling.token_secret when set (so tokens work on every node of a cluster), otherwise a random
/// per-process key. Opaque to clients.
/// </summary>
public sealed class ResumeTokens
{
    /// <summary>One hour: long enough for a laptop lid or a network switch, short enough that a leaked token soon dies.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    private readonly byte[] _key;
    private readonly TimeProvider _time;

    public ResumeTokens(string secret, TimeProvider time)
    {
        // Domain separation: the same secret also signs join tokens, whose payloads differ; a distinct derived key keeps them apart.
        _key = secret.Length > 0 ? HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), "webrtc-cdn resume token"u8) : RandomNumberGenerator.GetBytes(32);
        _time = time;
    }

    public string Issue(string peerId)
    {
        if (!UrlSafeBase64.TryDecode(peerId, out var id))
        {
            throw new ArgumentException("not a server-issued peer id", nameof(peerId));
        }

        var body = new byte[id.Length + 8];
        id.CopyTo(body, 0);
        BinaryPrimitives.WriteInt64BigEndian(body.AsSpan(id.Length), (_time.GetUtcNow() + Lifetime).ToUnixTimeSeconds());
        var first = UrlSafeBase64.Encode(body);
        return first + "." + UrlSafeBase64.Encode(HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(first)));
    }

    /// <summary>The peer id a valid, unexpired token resumes, or null.</summary>
    public string? Validate(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 256)
        {
            return null;
        }

        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || !UrlSafeBase64.TryDecode(token[..dot], out var body) || !UrlSafeBase64.TryDecode(token[(dot + 1)..], out var mac)
            || body.Length != SignalingProtocol.PeerIdBytes + 8
            || !CryptographicOperations.FixedTimeEquals(mac, HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(token[..dot]))))
        {
            return null;
        }

        var expiry = BinaryPrimitives.ReadInt64BigEndian(body.AsSpan(SignalingProtocol.PeerIdBytes));
        return _time.GetUtcNow().ToUnixTimeSeconds() < expiry ? UrlSafeBase64.Encode(body.AsSpan(0, SignalingProtocol.PeerIdBytes)) : null;
    }
}
