using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace WebRtcCdn.Core.Signaling;

/// <summary>
/// Ephemeral TURN credentials in the "TURN REST API" form (draft-uberti-behave-turn-rest-00) that coturn checks
/// with <c>use-auth-secret</c> / <c>static-auth-secret</c>: username <c>&lt;expiry unix seconds&gt;:&lt;peer id&gt;</c>,
/// credential base64(HMAC-SHA1(secret, username)). coturn recomputes the HMAC and refuses an expired username.
/// </summary>
public static class TurnCredentials
{
    public static (string Username, string Credential) Create(string secret, string peerId, DateTimeOffset expires)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        ArgumentException.ThrowIfNullOrEmpty(peerId);
        var username = string.Create(CultureInfo.InvariantCulture, $"{expires.ToUnixTimeSeconds()}:{peerId}");
        return (username, ComputeCredential(secret, username));
    }

    public static string ComputeCredential(string secret, string username)
    {
        // SHA-1 is what coturn's REST API mode computes; its use here is as an HMAC, where SHA-1 remains sound.
#pragma warning disable CA5350
        var mac = HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(username));
#pragma warning restore CA5350
        return Convert.ToBase64String(mac);
    }
}
