using System.Net;
using Microsoft.Playwright;
using WebRtcCdn.Rtc.Dtls;
using WebRtcCdn.Rtc.PeerConnection;
using WebRtcCdn.Rtc.Tests.PeerConnection;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Rtc.Tests.Interop;

/// <summary>
/// Our RtcPeerConnection against real headless Chromium (default mDNS host-candidate hiding), both offer
/// directions, signalled through page.evaluate on tests/WebRtcCdn.Testing/pages/rtc-peer.html.
/// </summary>
public sealed class RtcChromiumTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan TransferGuard = TimeSpan.FromMinutes(3);
    private const int Bulk = 32 * 1024 * 1024;

    private TestServer _server = null!;
    private BrowserPage _browser = null!;

    private IPage Page => _browser.Page;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(configureApp: TestPages.Map);
        _browser = await Chromium.OpenAsync(new Uri(_server.BaseUri, "/test/rtc-peer.html"));
        await Page.EvaluateAsync("() => makePc()");
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        await _server.DisposeAsync();
    }

    private static RtcConfiguration Config(bool lite = false) => new() { BindAddress = IPAddress.Loopback, IceLite = lite };

    /// <summary>Our offer, Chromium's answer. Returns our channel "data" (opened).</summary>
    private async Task<RtcDataChannel> ConnectOurOfferAsync(RtcPeerConnection pc)
    {
        var channel = pc.CreateDataChannel("data");
        await pc.SetLocalDescriptionAsync(await pc.CreateOfferAsync());
        var answer = await Page.EvaluateAsync<string>(
            "async (sdp) => { await pc.setRemoteDescription({ type: 'offer', sdp }); await pc.setLocalDescription(await pc.createAnswer()); return pc.localDescription.sdp; }",
            pc.LocalDescription!.Sdp);
        await pc.SetRemoteDescriptionAsync(new RtcSessionDescription(RtcSdpType.Answer, answer));
        await AssertConnectedAsync(pc);
        await PeerPair.OpenedAsync(channel).WaitAsync(Guard);
        await Page.EvaluateAsync("() => opened('data')").WaitAsync(Guard);
        return channel;
    }

    /// <summary>Chromium's offer (with its channel "data"), our answer. Returns our side of "data".</summary>
    private async Task<RtcDataChannel> ConnectChromiumOfferAsync(RtcPeerConnection pc)
    {
        var remote = PeerPair.NextDataChannelAsync(pc);
        var offer = await Page.EvaluateAsync<string>(
            "async () => { createChannel('data'); await pc.setLocalDescription(await pc.createOffer()); return pc.localDescription.sdp; }");
        await pc.SetRemoteDescriptionAsync(new RtcSessionDescription(RtcSdpType.Offer, offer));
        await pc.SetLocalDescriptionAsync(await pc.CreateAnswerAsync());
        await Page.EvaluateAsync("async (sdp) => pc.setRemoteDescription({ type: 'answer', sdp })", pc.LocalDescription!.Sdp);
        // Chromium's trickled candidates are mDNS names: accepted and left to peer-reflexive discovery.
        foreach (var line in await Page.EvaluateAsync<string[]>("() => candidates"))
        {
            await pc.AddIceCandidateAsync(new RtcIceCandidate(line));
        }

        await AssertConnectedAsync(pc);
        var channel = await remote.WaitAsync(Guard);
        Assert.Equal("data", channel.Label);
        await PeerPair.OpenedAsync(channel).WaitAsync(Guard);
        return channel;
    }

    private async Task AssertConnectedAsync(RtcPeerConnection pc)
    {
        var state = await Page.EvaluateAsync<string>("() => connected()").WaitAsync(Guard);
        Assert.True(state == "connected", "page connectionState " + state + "\n" + _browser.Log);
        await pc.WaitConnectedAsync().WaitAsync(Guard);
        Assert.Equal(RtcPeerConnectionState.Connected, pc.ConnectionState);
    }

    /// <summary>32 MiB each way at once on one channel, SHA-256 compared on both ends.</summary>
    private async Task BulkBothWaysAsync(RtcDataChannel channel)
    {
        var sink = new PeerPair.Sink(channel, Bulk);
        var fromPage = Page.EvaluateAsync<string>("() => sendPattern('data', 33554432, 65536, 7)");
        var toPage = Page.EvaluateAsync<string>("() => receivedDigest('data', 33554432)");
        var sent = await PeerPair.SendPatternAsync(channel, Bulk, 64 * 1024, 3).WaitAsync(TransferGuard);
        Assert.Equal(Convert.ToHexStringLower(sent), await toPage.WaitAsync(TransferGuard));
        Assert.Equal(await fromPage.WaitAsync(TransferGuard), Convert.ToHexStringLower(await sink.Done.Task.WaitAsync(TransferGuard)));
    }

    private async Task CloseSeenInPageAsync(RtcDataChannel channel)
    {
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        channel.OnClose += () => closed.TrySetResult();
        channel.Close();
        await Page.EvaluateAsync("() => chanClosed('data')").WaitAsync(Guard);
        await closed.Task.WaitAsync(Guard);
        Assert.Equal(RtcDataChannelState.Closed, channel.ReadyState);
    }

    [Fact]
    public async Task Our_offer_chromium_answer_connects_moves_32_MiB_each_way_and_closes()
    {
        await using var pc = new RtcPeerConnection(Config());
        var channel = await ConnectOurOfferAsync(pc);
        // Chromium answers setup:active, so we are the DTLS server.
        Assert.Equal(DtlsRole.Server, pc.DtlsRole);
        await BulkBothWaysAsync(channel);
        await CloseSeenInPageAsync(channel);
    }

    [Theory]
    [InlineData(false)] // full ICE, we answer setup:active: we are DTLS client
    [InlineData(true)] // ICE-lite server, we answer setup:passive: we are DTLS server
    public async Task Chromium_offer_our_answer_connects_moves_32_MiB_each_way_and_closes(bool lite)
    {
        await using var pc = new RtcPeerConnection(Config(lite));
        var channel = await ConnectChromiumOfferAsync(pc);
        Assert.Equal(lite ? DtlsRole.Server : DtlsRole.Client, pc.DtlsRole);
        await BulkBothWaysAsync(channel);
        await CloseSeenInPageAsync(channel);
    }

    [Fact]
    public async Task Sixteen_channels_at_once_and_an_unordered_partially_reliable_channel()
    {
        await using var pc = new RtcPeerConnection(Config());
        var data = await ConnectOurOfferAsync(pc);
        var channels = Enumerable.Range(0, 16).Select(i => pc.CreateDataChannel("c" + i)).ToList();
        var pr = pc.CreateDataChannel("pr", new RtcDataChannelInit { Ordered = false, MaxRetransmits = 0 });
        await Task.WhenAll(channels.Select(c => PeerPair.OpenedAsync(c))).WaitAsync(Guard);
        await PeerPair.OpenedAsync(pr).WaitAsync(Guard);
        for (var i = 0; i < 16; i++)
        {
            await Page.EvaluateAsync("(l) => opened(l)", "c" + i).WaitAsync(Guard);
        }

        // Parameters as Chromium sees them.
        var prSeen = await Page.EvaluateAsync<string>("() => { const c = chans['pr'].ch; return `${c.ordered}/${c.maxRetransmits}/${c.maxPacketLifeTime}`; }");
        Assert.Equal("false/0/null", prSeen);

        // Every channel carries its own stream of messages at the same time.
        var payloads = channels.Select((c, i) => PeerPair.Pattern(100_000 + i, i)).ToList();
        for (var round = 0; round < 4; round++)
        {
            for (var i = 0; i < 16; i++)
            {
                channels[i].Send(payloads[i]);
            }
        }

        for (var i = 0; i < 16; i++)
        {
            await Page.EvaluateAsync("(l) => messages(l, 4)", "c" + i).WaitAsync(Guard);
            var bytes = await Page.EvaluateAsync<long>("(l) => chans[l].bytes", "c" + i);
            Assert.Equal(4L * payloads[i].Length, bytes);
        }

        // Unordered, no retransmissions: on loopback nothing is lost, every message arrives (in any order).
        for (var i = 0; i < 100; i++)
        {
            pr.Send("m" + i);
        }

        await Page.EvaluateAsync("() => messages('pr', 100)").WaitAsync(Guard);
        var texts = await Page.EvaluateAsync<string[]>("() => chans['pr'].texts");
        Assert.Equal(Enumerable.Range(0, 100).Select(i => "m" + i).Order(), texts.Order());

        // And back from the page on a channel it opened (ondatachannel here).
        var fromPage = PeerPair.NextDataChannelAsync(pc);
        await Page.EvaluateAsync("() => createChannel('back', { ordered: false, maxPacketLifeTime: 500 })");
        var back = await fromPage.WaitAsync(Guard);
        Assert.False(back.Ordered);
        Assert.Equal(TimeSpan.FromMilliseconds(500), back.MaxPacketLifeTime);
        var got = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        back.OnMessage += m => got.TrySetResult(m.Text);
        await Page.EvaluateAsync("() => opened('back')").WaitAsync(Guard);
        await Page.EvaluateAsync("() => chans['back'].ch.send('from chromium')");
        Assert.Equal("from chromium", await got.Task.WaitAsync(Guard));

        foreach (var c in channels)
        {
            c.Close();
        }

        for (var i = 0; i < 16; i++)
        {
            await Page.EvaluateAsync("(l) => chanClosed(l)", "c" + i).WaitAsync(Guard);
        }

        await CloseSeenInPageAsync(data);
    }

    [Fact]
    public async Task Closing_the_peer_connection_closes_chromium_channels()
    {
        await using var pc = new RtcPeerConnection(Config());
        await ConnectOurOfferAsync(pc);
        pc.Close();
        await Page.EvaluateAsync("() => chanClosed('data')").WaitAsync(Guard);
    }
}
