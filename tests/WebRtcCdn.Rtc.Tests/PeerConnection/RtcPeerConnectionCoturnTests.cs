using System.Threading.Channels;
using WebRtcCdn.Rtc.Ice;
using WebRtcCdn.Rtc.PeerConnection;
using WebRtcCdn.Rtc.Tests.Turn;

namespace WebRtcCdn.Rtc.Tests.PeerConnection;

/// <summary>Two of our peer connections through a real coturn relay, with trickled candidates (only relayed ones signalled).</summary>
public sealed class RtcPeerConnectionCoturnTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = PeerPair.Guard;
    private CoturnServer _coturn = null!;

    public async Task InitializeAsync() => _coturn = await CoturnServer.StartAsync();

    public Task DisposeAsync()
    {
        _coturn.Dispose();
        return Task.CompletedTask;
    }

    private RtcConfiguration Config(string user)
    {
        var (name, password) = _coturn.Credentials(user);
        return PeerPair.Loopback() is var c ? new RtcConfiguration
        {
            BindAddress = c.BindAddress,
            IceCheckInterval = c.IceCheckInterval,
            IceServers = [IceServer.Turn(_coturn.EndPoint, name, password)],
        } : c;
    }

    private static bool IsRelay(string line) => line.Contains(" typ relay", StringComparison.Ordinal);

    private static string RelayOnly(string sdp) =>
        string.Join("\r\n", sdp.Split("\r\n").Where(l => !l.StartsWith("a=candidate:", StringComparison.Ordinal) || IsRelay(l)));

    /// <summary>Trickles a connection's relayed candidates to the other once it has a remote description.</summary>
    private static Channel<RtcIceCandidate> Trickle(RtcPeerConnection from)
    {
        var queue = Channel.CreateUnbounded<RtcIceCandidate>();
        from.OnIceCandidate += c =>
        {
            if (c.Candidate is null || IsRelay(c.Candidate))
            {
                queue.Writer.TryWrite(c);
            }
        };
        return queue;
    }

    private static async Task ForwardAsync(Channel<RtcIceCandidate> queue, RtcPeerConnection to)
    {
        await foreach (var c in queue.Reader.ReadAllAsync())
        {
            await to.AddIceCandidateAsync(c);
            if (c.Candidate is null)
            {
                return;
            }
        }
    }

    [Fact]
    public async Task Offerer_and_answerer_connect_through_coturn_and_exchange_data()
    {
        await using var a = new RtcPeerConnection(Config("alice"));
        await using var b = new RtcPeerConnection(Config("bob"));
        var fromA = Trickle(a);
        var fromB = Trickle(b);
        var channel = a.CreateDataChannel("relayed");
        var remote = PeerPair.NextDataChannelAsync(b);

        await a.SetLocalDescriptionAsync(await a.CreateOfferAsync());
        await b.SetRemoteDescriptionAsync(new RtcSessionDescription(RtcSdpType.Offer, RelayOnly(a.LocalDescription!.Sdp)));
        await b.SetLocalDescriptionAsync(await b.CreateAnswerAsync());
        await a.SetRemoteDescriptionAsync(new RtcSessionDescription(RtcSdpType.Answer, RelayOnly(b.LocalDescription!.Sdp)));
        var forwarding = Task.WhenAll(ForwardAsync(fromA, b), ForwardAsync(fromB, a));

        await Task.WhenAll(a.WaitConnectedAsync(), b.WaitConnectedAsync()).WaitAsync(Guard);
        // Only relayed candidates were signalled: every selected path has coturn on at least one end.
        foreach (var pair in new[] { a.SelectedCandidatePair!, b.SelectedCandidatePair! })
        {
            Assert.True(pair.Local.Type == IceCandidateType.Relayed || pair.Remote.Type == IceCandidateType.Relayed, $"{pair.Local} -> {pair.Remote}");
        }
        Assert.Equal(RtcIceGatheringState.Complete, a.IceGatheringState);

        await PeerPair.OpenedAsync(channel).WaitAsync(Guard);
        var theirs = await remote.WaitAsync(Guard);
        var sink = new PeerPair.Sink(theirs, 1024 * 1024);
        var sent = await PeerPair.SendPatternAsync(channel, 1024 * 1024, 16 * 1024, 5);
        Assert.Equal(sent, await sink.Done.Task.WaitAsync(Guard));
        await forwarding.WaitAsync(Guard);
    }
}
