using System.Net;
using WebRtcCdn.Rtc.Dtls;
using WebRtcCdn.Rtc.Net;
using WebRtcCdn.Rtc.PeerConnection;
using WebRtcCdn.Rtc.Sdp;

namespace WebRtcCdn.Rtc.Tests.PeerConnection;

/// <summary>Our offerer and our answerer over real loopback UDP: ICE, DTLS (both roles), SCTP and data channels.</summary>
public sealed class RtcPeerConnectionLoopbackTests
{
    private static readonly TimeSpan Guard = PeerPair.Guard;

    [Theory]
    [InlineData(false)] // full answerer answers setup:active: the answerer is DTLS client
    [InlineData(true)] // ICE-lite answerer answers setup:passive: the answerer is DTLS server
    public async Task Offerer_and_answerer_connect_and_exchange_messages(bool liteAnswerer)
    {
        await using var a = new RtcPeerConnection(PeerPair.Loopback());
        await using var b = new RtcPeerConnection(PeerPair.Loopback(liteAnswerer));
        var states = new List<RtcPeerConnectionState>();
        a.OnConnectionStateChange += s => { lock (states) { states.Add(s); } };
        var channel = a.CreateDataChannel("chat", new RtcDataChannelInit { Protocol = "p1" });
        var remote = PeerPair.NextDataChannelAsync(b);
        await PeerPair.ConnectAsync(a, b);

        Assert.Equal(RtcPeerConnectionState.Connected, a.ConnectionState);
        Assert.Equal(RtcPeerConnectionState.Connected, b.ConnectionState);
        Assert.Equal(liteAnswerer ? DtlsRole.Client : DtlsRole.Server, a.DtlsRole);
        Assert.NotEqual(a.DtlsRole, b.DtlsRole);
        lock (states)
        {
            Assert.Equal([RtcPeerConnectionState.Connecting, RtcPeerConnectionState.Connected], states);
        }

        await PeerPair.OpenedAsync(channel).WaitAsync(Guard);
        var theirs = await remote.WaitAsync(Guard);
        Assert.Equal("chat", theirs.Label);
        Assert.Equal("p1", theirs.Protocol);
        Assert.Equal(channel.Id, theirs.Id);
        // RFC 8832 sec. 6: the DTLS client uses even stream ids.
        Assert.Equal(a.DtlsRole == DtlsRole.Client ? 0 : 1, channel.Id!.Value & 1);

        var got = new TaskCompletionSource<RtcMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        theirs.OnMessage += m => got.TrySetResult(m);
        channel.Send("hello");
        var message = await got.Task.WaitAsync(Guard);
        Assert.True(message.IsText);
        Assert.Equal("hello", message.Text);

        // Reply through the async stream (no OnMessage handler on our side).
        theirs.Send(new byte[] { 1, 2, 3 });
        await using var e = channel.ReadAllAsync().GetAsyncEnumerator();
        Assert.True(await e.MoveNextAsync().AsTask().WaitAsync(Guard));
        Assert.False(e.Current.IsText);
        Assert.Equal(new byte[] { 1, 2, 3 }, e.Current.Data);

        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        theirs.OnClose += () => closed.TrySetResult();
        channel.Close();
        await closed.Task.WaitAsync(Guard);
        Assert.Equal(RtcDataChannelState.Closed, theirs.ReadyState);
    }

    [Fact]
    public async Task Sixty_four_mebibytes_go_each_way_byte_exact()
    {
        const long Total = 64L * 1024 * 1024;
        await using var a = new RtcPeerConnection(PeerPair.Loopback());
        await using var b = new RtcPeerConnection(PeerPair.Loopback());
        var channel = a.CreateDataChannel("bulk");
        var remote = PeerPair.NextDataChannelAsync(b);
        await PeerPair.ConnectAsync(a, b);
        await PeerPair.OpenedAsync(channel).WaitAsync(Guard);
        var theirs = await remote.WaitAsync(Guard);

        var toB = new PeerPair.Sink(theirs, Total);
        var toA = new PeerPair.Sink(channel, Total);
        var sentAb = PeerPair.SendPatternAsync(channel, Total, 64 * 1024, 1);
        var sentBa = PeerPair.SendPatternAsync(theirs, Total, 256 * 1024, 2);
        var guard = TimeSpan.FromMinutes(3);
        Assert.Equal(await sentAb.WaitAsync(guard), await toB.Done.Task.WaitAsync(guard));
        Assert.Equal(await sentBa.WaitAsync(guard), await toA.Done.Task.WaitAsync(guard));
    }

    [Fact]
    public async Task Bulk_data_is_byte_exact_over_plain_sockets_without_udp_offloads()
    {
        // The portable path (one SendTo / ReceiveFrom per datagram), which other systems and refusing kernels take.
        const long Total = 8L * 1024 * 1024;
        await using var muxA = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0), new UdpMuxOptions { UseOffloads = false });
        await using var muxB = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0), new UdpMuxOptions { UseOffloads = false });
        await using var a = new RtcPeerConnection(new RtcConfiguration { BindAddress = IPAddress.Loopback, IceCheckInterval = TimeSpan.FromMilliseconds(5), UdpMux = muxA });
        await using var b = new RtcPeerConnection(new RtcConfiguration { BindAddress = IPAddress.Loopback, IceCheckInterval = TimeSpan.FromMilliseconds(5), UdpMux = muxB });
        var channel = a.CreateDataChannel("bulk");
        var remote = PeerPair.NextDataChannelAsync(b);
        await PeerPair.ConnectAsync(a, b);
        await PeerPair.OpenedAsync(channel).WaitAsync(Guard);
        var theirs = await remote.WaitAsync(Guard);

        var toB = new PeerPair.Sink(theirs, Total);
        var toA = new PeerPair.Sink(channel, Total);
        var sentAb = PeerPair.SendPatternAsync(channel, Total, 16 * 1024, 3);
        var sentBa = PeerPair.SendPatternAsync(theirs, Total, 100_000, 4);
        Assert.Equal(await sentAb.WaitAsync(Guard), await toB.Done.Task.WaitAsync(Guard));
        Assert.Equal(await sentBa.WaitAsync(Guard), await toA.Done.Task.WaitAsync(Guard));
        Assert.Equal(muxA.SentDatagrams, muxA.SendCalls);
        Assert.Equal(muxB.ReceivedDatagrams, muxB.ReceiveCalls);
    }

    [Fact]
    public async Task Negotiated_and_partially_reliable_channels_carry_their_parameters()
    {
        await using var a = new RtcPeerConnection(PeerPair.Loopback());
        await using var b = new RtcPeerConnection(PeerPair.Loopback());
        var na = a.CreateDataChannel("neg", new RtcDataChannelInit { Negotiated = true, Id = 42 });
        var nb = b.CreateDataChannel("neg", new RtcDataChannelInit { Negotiated = true, Id = 42 });
        var pr = a.CreateDataChannel("pr", new RtcDataChannelInit { Ordered = false, MaxRetransmits = 0 });
        var remote = PeerPair.NextDataChannelAsync(b);
        await PeerPair.ConnectAsync(a, b);
        await Task.WhenAll(PeerPair.OpenedAsync(na), PeerPair.OpenedAsync(nb), PeerPair.OpenedAsync(pr)).WaitAsync(Guard);
        Assert.Equal((ushort)42, na.Id);
        var theirs = await remote.WaitAsync(Guard);
        Assert.Equal("pr", theirs.Label);
        Assert.False(theirs.Ordered);
        Assert.Equal(0, theirs.MaxRetransmits);

        var got = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        nb.OnMessage += m => got.TrySetResult(m.Text);
        na.Send("over the negotiated channel");
        Assert.Equal("over the negotiated channel", await got.Task.WaitAsync(Guard));
    }

    [Fact]
    public async Task Sending_above_the_remote_max_message_size_is_refused()
    {
        await using var a = new RtcPeerConnection(PeerPair.Loopback());
        await using var b = new RtcPeerConnection(PeerPair.Loopback());
        var channel = a.CreateDataChannel("x");
        await PeerPair.ConnectAsync(a, b);
        await PeerPair.OpenedAsync(channel).WaitAsync(Guard);
        var e = Assert.Throws<ArgumentException>(() => channel.Send(new byte[(256 * 1024) + 1]));
        Assert.Contains("max-message-size", e.Message, StringComparison.Ordinal);

        // A channel that cannot be open yet: its connection has not even started (on a connected pair a new channel
        // may already be open by the time Send runs, since the opener need not wait for DATA_CHANNEL_ACK).
        await using var idle = new RtcPeerConnection(PeerPair.Loopback());
        Assert.Throws<InvalidOperationException>(() => idle.CreateDataChannel("y").Send("not open yet"));
    }

    [Fact]
    public async Task Bad_remote_descriptions_and_candidates_give_clear_errors()
    {
        await using var pc = new RtcPeerConnection(PeerPair.Loopback());
        var garbage = await Assert.ThrowsAsync<SdpException>(() => pc.SetRemoteDescriptionAsync(new RtcSessionDescription(RtcSdpType.Offer, "v=0\r\nthis is not sdp\r\n")));
        Assert.False(string.IsNullOrEmpty(garbage.Message));

        await using var other = new RtcPeerConnection(PeerPair.Loopback());
        var offer = await other.CreateOfferAsync();
        var noUfrag = string.Join("\r\n", offer.Sdp.Split("\r\n").Where(l => !l.StartsWith("a=ice-ufrag", StringComparison.Ordinal)));
        var missing = await Assert.ThrowsAsync<SdpException>(() => pc.SetRemoteDescriptionAsync(new RtcSessionDescription(RtcSdpType.Offer, noUfrag)));
        Assert.Contains("ice-ufrag", missing.Message, StringComparison.Ordinal);

        await Assert.ThrowsAsync<InvalidOperationException>(() => pc.SetRemoteDescriptionAsync(new RtcSessionDescription(RtcSdpType.Answer, offer.Sdp)));
        await Assert.ThrowsAsync<InvalidOperationException>(() => pc.AddIceCandidateAsync(new RtcIceCandidate("candidate:1 1 udp 1 127.0.0.1 9 typ host")));
        await Assert.ThrowsAsync<InvalidOperationException>(() => pc.CreateAnswerAsync());

        await pc.SetRemoteDescriptionAsync(offer);
        var bad = await Assert.ThrowsAsync<ArgumentException>(() => pc.AddIceCandidateAsync(new RtcIceCandidate("candidate:garbage")));
        Assert.Contains("bad ICE candidate", bad.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => pc.SetLocalDescriptionAsync(offer));
        Assert.Throws<ArgumentException>(() => pc.CreateDataChannel("x", new RtcDataChannelInit { MaxRetransmits = 1, MaxPacketLifeTime = TimeSpan.FromSeconds(1) }));
    }

    [Fact]
    public async Task A_throwing_message_handler_is_reported_and_the_connection_carries_on()
    {
        await using var a = new RtcPeerConnection(PeerPair.Loopback());
        await using var b = new RtcPeerConnection(PeerPair.Loopback());
        var channel = a.CreateDataChannel("x");
        var remote = PeerPair.NextDataChannelAsync(b);
        var errors = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.OnError += e => errors.TrySetResult(e);
        await PeerPair.ConnectAsync(a, b);
        await PeerPair.OpenedAsync(channel).WaitAsync(Guard);
        var theirs = await remote.WaitAsync(Guard);
        var second = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        theirs.OnMessage += m =>
        {
            if (m.Text == "first")
            {
                throw new InvalidOperationException("handler bug");
            }

            second.TrySetResult(m.Text);
        };
        channel.Send("first");
        Assert.Equal("handler bug", (await errors.Task.WaitAsync(Guard)).Message);
        channel.Send("second");
        Assert.Equal("second", await second.Task.WaitAsync(Guard));
    }
}
