using System.Security.Cryptography;
using System.Text;

namespace WebRtcCdn.Rtc.Stun;

/// <summary>MESSAGE-INTEGRITY keys (RFC 8489 sec. 9) and the TURN REST credential form.</summary>
public static class StunCredentials
{
    /// <summary>Short-term credentials (ICE): the key is the password's UTF-8 bytes.</summary>
    public static byte[] ShortTermKey(string password) => Encoding.UTF8.GetBytes(password);

    /// <summary>
    /// Long-term credentials (TURN): MD5(username ":" realm ":" password). SASLprep is not applied: TURN REST
    /// credentials and coturn's users are ASCII, and RFC 5769's vector is already in prepared form.
    /// </summary>
    public static byte[] LongTermKey(string username, string realm, string password)
    {
#pragma warning disable CA5351 // MD5 is what RFC 8489 sec. 9.2.2 mandates for the long-term key; not our choice.
        return MD5.HashData(Encoding.UTF8.GetBytes(username + ":" + realm + ":" + password));
#pragma warning restore CA5351
    }

    /// <summary>
    /// The ephemeral "TURN REST API" credentials coturn's use-auth-secret accepts
    /// (draft-uberti-behave-turn-rest-00): username "expiry:id", password base64(HMAC-SHA1(secret, username)).
    /// </summary>
    public static (string Username, string Password) TurnRest(string sharedSecret, string id, DateTimeOffset expiry)
    {
        var username = expiry.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + id;
#pragma warning disable CA5350 // HMAC-SHA1 is the algorithm the TURN REST convention (and coturn) uses.
        var mac = HMACSHA1.HashData(Encoding.UTF8.GetBytes(sharedSecret), Encoding.UTF8.GetBytes(username));
#pragma warning restore CA5350
        return (username, Convert.ToBase64String(mac));
    }
}
