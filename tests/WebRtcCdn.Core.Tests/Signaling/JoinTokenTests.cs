using WebRtcCdn.Core.Signaling;

namespace WebRtcCdn.Core.Tests.Signaling;

public sealed class JoinTokenTests
{
    private const string Secret = "0123456789abcdef0123456789abcdef";

    /// <summary>The test vector of docs/PROTOCOL.md (computed independently with Python's hmac module).</summary>
    private const string Vector = "eyJzd2FybSI6InZpZGVvcy8qIiwiZXhwIjoxODkzNDU2MDAwfQ.KcTo1gxCWsbcw6NYz6-m2Jb9V5kjHzkeINgjsvPBmh8";

    private static readonly DateTimeOffset Expiry = DateTimeOffset.FromUnixTimeSeconds(1893456000);

    [Fact]
    public void Create_matches_the_documented_test_vector() =>
        Assert.Equal(Vector, JoinToken.Create(Secret, "videos/*", Expiry));

    [Fact]
    public void The_vector_verifies_for_swarms_in_scope_until_it_expires()
    {
        var before = Expiry.AddSeconds(-1);
        Assert.Equal(JoinTokenStatus.Valid, JoinToken.Verify(Secret, Vector, "videos/cat.mp4", before));
        Assert.Equal(JoinTokenStatus.WrongSwarm, JoinToken.Verify(Secret, Vector, "music/song", before));
        Assert.Equal(JoinTokenStatus.Expired, JoinToken.Verify(Secret, Vector, "videos/cat.mp4", Expiry));
    }

    [Theory]
    [InlineData("*", "anything", true)]
    [InlineData("a", "a", true)]
    [InlineData("a", "ab", false)]
    [InlineData("a*", "ab", true)]
    [InlineData("a*", "b", false)]
    public void Scope_rules(string scope, string swarm, bool expected) => Assert.Equal(expected, JoinToken.InScope(scope, swarm));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("no-dot")]
    [InlineData(".")]
    [InlineData("!!!.???")]
    [InlineData("e30.AAAA")]
    public void Malformed_tokens_are_refused(string? token)
    {
        var status = JoinToken.Verify(Secret, token, "s", DateTimeOffset.UnixEpoch);
        Assert.True(status is JoinTokenStatus.Malformed or JoinTokenStatus.BadSignature, status.ToString());
    }

    [Fact]
    public void A_token_longer_than_the_bound_is_malformed() =>
        Assert.Equal(JoinTokenStatus.Malformed, JoinToken.Verify(Secret, new string('a', JoinToken.MaxLength + 1), "s", DateTimeOffset.UnixEpoch));

    [Fact]
    public void A_tampered_payload_or_another_secret_fails_the_signature()
    {
        var token = JoinToken.Create(Secret, "videos/1", Expiry);
        var forgedPayload = UrlSafeBase64.Encode("{\"swarm\":\"*\",\"exp\":1893456000}"u8) + token[token.IndexOf('.', StringComparison.Ordinal)..];
        Assert.Equal(JoinTokenStatus.BadSignature, JoinToken.Verify(Secret, forgedPayload, "videos/1", DateTimeOffset.UnixEpoch));
        Assert.Equal(JoinTokenStatus.BadSignature, JoinToken.Verify("another secret of length", token, "videos/1", DateTimeOffset.UnixEpoch));
    }

    [Theory]
    [InlineData("{\"swarm\":5}")]
    [InlineData("{\"swarm\":\"s\",\"exp\":\"tomorrow\"}")]
    [InlineData("[1]")]
    [InlineData("not json")]
    public void A_signed_payload_without_valid_fields_is_malformed(string json)
    {
        var payload = UrlSafeBase64.Encode(System.Text.Encoding.UTF8.GetBytes(json));
        var mac = System.Security.Cryptography.HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Secret), System.Text.Encoding.ASCII.GetBytes(payload));
        Assert.Equal(JoinTokenStatus.Malformed, JoinToken.Verify(Secret, payload + "." + UrlSafeBase64.Encode(mac), "s", DateTimeOffset.UnixEpoch));
    }
}
