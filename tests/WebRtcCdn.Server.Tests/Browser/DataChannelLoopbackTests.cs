using System.Security.Cryptography;
using System.Text.Json;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Browser;

/// <summary>The harness's first real test: Chromium opens two RTCPeerConnections on a page served by our server.</summary>
public sealed class DataChannelLoopbackTests
{
    [Fact]
    public async Task Chromium_moves_one_MiB_over_a_data_channel_byte_exact()
    {
        await using var server = await TestServer.StartAsync(configureApp: TestPages.Map);
        await using var browser = await Chromium.OpenAsync(new Uri(server.BaseUri, "/test/datachannel-loopback.html"));

        var payload = RandomNumberGenerator.GetBytes(1 << 20);
        var result = await browser.Page.EvaluateAsync<JsonElement>("p => window.loopback(p)", Convert.ToBase64String(payload));

        var received = Convert.FromBase64String(result.GetProperty("received").GetString()!);
        Assert.Equal(payload.Length, received.Length);
        Assert.True(payload.AsSpan().SequenceEqual(received), "received bytes differ from the sent bytes\n" + browser.Log);
        Assert.Equal("connected", result.GetProperty("state").GetProperty("a").GetString());
        Assert.Equal("connected", result.GetProperty("state").GetProperty("b").GetString());
        Assert.Equal("open", result.GetProperty("state").GetProperty("channel").GetString());
    }
}
