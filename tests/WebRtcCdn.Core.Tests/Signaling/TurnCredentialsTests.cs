using WebRtcCdn.Core.Signaling;

namespace WebRtcCdn.Core.Tests.Signaling;

public sealed class TurnCredentialsTests
{
    /// <summary>
    /// Vector computed with openssl, as coturn checks it:
    /// <c>echo -n "1700000000:peer" | openssl dgst -sha1 -hmac coturn-secret -binary | base64</c>.
    /// </summary>
    [Fact]
    public void Credential_is_base64_hmac_sha1_of_the_username_like_coturn_computes_it()
    {
        var (username, credential) = TurnCredentials.Create("coturn-secret", "peer", DateTimeOffset.FromUnixTimeSeconds(1700000000));
        Assert.Equal("1700000000:peer", username);
        Assert.Equal("f2nn4APmRsVKmlxlWJXnUe7koyY=", credential);
    }
}
