using WebRtcCdn.Rtc.DataChannels;
using WebRtcCdn.Rtc.Tests.Sctp.Simulation;

namespace WebRtcCdn.Rtc.Tests.DataChannels;

/// <summary>Two data-channel managers over a simulated SCTP pair; A is the DTLS client (even ids), B the server.</summary>
public sealed class DataChannelPair
{
    public DataChannelPair(int seed, LinkProfile link)
    {
        Sctp = new SctpPair(seed, link);
        A = new DataChannelManager(Sctp.A, isDtlsClient: true);
        B = new DataChannelManager(Sctp.B, isDtlsClient: false);
        Sctp.PollUpperLayers = () =>
        {
            var any = false;
            while (A.PollEvent() is { } ea)
            {
                any = true;
                EventsA.Add(ea);
                OnEvent?.Invoke(true, ea);
            }

            while (B.PollEvent() is { } eb)
            {
                any = true;
                EventsB.Add(eb);
                OnEvent?.Invoke(false, eb);
            }

            return any;
        };
    }

    public SctpPair Sctp { get; }

    public DataChannelManager A { get; }

    public DataChannelManager B { get; }

    public List<DataChannelEvent> EventsA { get; } = [];

    public List<DataChannelEvent> EventsB { get; } = [];

    public Action<bool, DataChannelEvent>? OnEvent { get; set; }

    public void Connect()
    {
        Sctp.ConnectBoth();
        Assert.True(Sctp.RunUntil(() => EventsA.Any(e => e.Kind == DataChannelEventKind.AssociationConnected) && EventsB.Any(e => e.Kind == DataChannelEventKind.AssociationConnected), TimeSpan.FromSeconds(30)));
    }

    public bool RunUntil(Func<bool> condition, TimeSpan? limit = null) => Sctp.RunUntil(condition, limit ?? TimeSpan.FromMinutes(2));
}
