using System.Net;
using WebRtcCdn.Core.Signaling.Client;
using WebRtcCdn.Core.Swarming;

namespace WebRtcCdn.Core.Tests.Swarming;

public sealed class IceServerUrlsTests
{
    [Theory]
    [InlineData("stun:stun.example.com", false, "stun.example.com", 3478)]
    [InlineData("stun:192.0.2.1:19302", false, "192.0.2.1", 19302)]
    [InlineData("turn:turn.example.com:3479?transport=udp", true, "turn.example.com", 3479)]
    [InlineData("turn:[2001:db8::1]:3478", true, "2001:db8::1", 3478)]
    public void Usable_urls_parse(string url, bool turn, string host, int port)
    {
        Assert.True(IceServerUrls.TryParse(url, out var isTurn, out var h, out var p));
        Assert.Equal((turn, host, port), (isTurn, h, p));
    }

    [Theory]
    [InlineData("turns:turn.example.com:5349")]
    [InlineData("turn:turn.example.com:3478?transport=tcp")]
    [InlineData("http://example.com")]
    [InlineData("stun:")]
    [InlineData("stun:host:99999")]
    [InlineData("stun:host:abc")]
    [InlineData("turn:[2001:db8::1")]
    public void Urls_our_stack_cannot_use_are_skipped(string url) => Assert.False(IceServerUrls.TryParse(url, out _, out _, out _));

    [Fact]
    public async Task Resolves_addresses_and_skips_turn_without_credentials()
    {
        var servers = await IceServerUrls.ResolveAsync(
            [new IceServerInfo(["stun:127.0.0.1:3478", "turns:x:1"], null, null), new IceServerInfo(["turn:127.0.0.1:3479"], null, null), new IceServerInfo(["turn:127.0.0.1:3480"], "u", "p")],
            CancellationToken.None);
        Assert.Equal(2, servers.Count);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 3478), servers[0].EndPoint);
        Assert.True(servers[1].IsTurn);
        Assert.Equal("u", servers[1].Username);
    }
}
