using WebRtcCdn.Rtc.Sctp;

namespace WebRtcCdn.Rtc.Tests.Sctp.Simulation;

/// <summary>
/// Two associations joined by two simulated links, driven in virtual time: after every input both sides are
/// drained of packets and events; time jumps to the next packet arrival or timer. No sleeps, no threads.
/// </summary>
public sealed class SctpPair
{
    private readonly byte[] _packet = new byte[1500];

    public SctpPair(int seed, LinkProfile aToB, LinkProfile? bToA = null, SctpOptions? optionsA = null, SctpOptions? optionsB = null)
    {
        var random = new Random(seed);
        A = new SctpAssociation(WithRandom(optionsA, new Random(seed + 1)));
        B = new SctpAssociation(WithRandom(optionsB, new Random(seed + 2)));
        AToB = new SimulatedLink(aToB, random);
        BToA = new SimulatedLink(bToA ?? aToB, random);
    }

    public SctpAssociation A { get; }

    public SctpAssociation B { get; }

    public SimulatedLink AToB { get; }

    public SimulatedLink BToA { get; }

    public TimeSpan Now { get; private set; }

    /// <summary>Called for every event of A (first argument true) or B.</summary>
    public Action<bool, SctpEvent>? OnEvent { get; set; }

    /// <summary>
    /// When set, the pair does not poll the associations' events; this is called in the flush loop instead
    /// (a layer above, like the data-channel manager, polls them) and returns whether it did anything.
    /// </summary>
    public Func<bool>? PollUpperLayers { get; set; }

    /// <summary>Called after every step, e.g. to let the application top up its send queue.</summary>
    public Action? AfterStep { get; set; }

    /// <summary>Optional tamper hook: returns false to drop, may rewrite the packet (first argument: from A).</summary>
    public Func<bool, byte[], int, bool>? Tamper { get; set; }

    /// <summary>Optional observer of every delivered packet (first argument: delivered to B).</summary>
    public Action<bool, byte[], int>? OnDelivered { get; set; }

    public long Steps { get; private set; }

    public void ConnectBoth()
    {
        A.Connect(Now);
        B.Connect(Now);
    }

    /// <summary>Runs until <paramref name="until"/> holds or the virtual clock passes <paramref name="limit"/>; returns whether the condition held.</summary>
    public bool RunUntil(Func<bool> until, TimeSpan limit)
    {
        var end = Now + limit;
        while (true)
        {
            Flush();
            if (until())
            {
                return true;
            }

            var next = Min(Min(AToB.NextDelivery, BToA.NextDelivery), Min(A.PollTimeout(), B.PollTimeout()));
            if (next is null || next > end)
            {
                Now = end;
                return until();
            }

            if (next > Now)
            {
                Now = next.Value;
            }

            Steps++;
            Deliver(AToB, B);
            Deliver(BToA, A);
            if (A.PollTimeout() is { } ta && ta <= Now)
            {
                A.HandleTimeout(Now);
            }

            if (B.PollTimeout() is { } tb && tb <= Now)
            {
                B.HandleTimeout(Now);
            }

            AfterStep?.Invoke();
        }
    }

    public void RunFor(TimeSpan duration) => RunUntil(() => false, duration);

    /// <summary>Drains packets and events of both sides until neither has anything more.</summary>
    public void Flush()
    {
        bool progress;
        do
        {
            progress = false;
            progress |= Drain(A, AToB, true);
            progress |= Drain(B, BToA, false);
            if (PollUpperLayers is not null)
            {
                progress |= PollUpperLayers();
                continue;
            }

            while (A.PollEvent() is { } ea)
            {
                progress = true;
                OnEvent?.Invoke(true, ea);
            }

            while (B.PollEvent() is { } eb)
            {
                progress = true;
                OnEvent?.Invoke(false, eb);
            }
        }
        while (progress);
    }

    private bool Drain(SctpAssociation from, SimulatedLink link, bool fromA)
    {
        var any = false;
        int n;
        while ((n = from.PollOutboundPacket(_packet)) > 0)
        {
            any = true;
            if (Tamper is null || Tamper(fromA, _packet, n))
            {
                link.Send(_packet.AsSpan(0, n), Now);
            }
        }

        return any;
    }

    private void Deliver(SimulatedLink link, SctpAssociation to)
    {
        while (link.TryReceive(Now, out var d))
        {
            OnDelivered?.Invoke(to == B, d.Buffer, d.Length);
            to.HandleInboundPacket(d.Span, Now);
            SimulatedLink.Return(d);
        }
    }

    private static SctpOptions WithRandom(SctpOptions? o, Random r)
    {
        o ??= new SctpOptions();
        return new SctpOptions
        {
            LocalPort = o.LocalPort,
            RemotePort = o.RemotePort,
            Mtu = o.Mtu,
            ReceiveBufferSize = o.ReceiveBufferSize,
            SendBufferSize = o.SendBufferSize,
            MaxReceiveMessageSize = o.MaxReceiveMessageSize,
            MaxSendMessageSize = o.MaxSendMessageSize,
            Streams = o.Streams,
            RtoInitial = o.RtoInitial,
            RtoMin = o.RtoMin,
            RtoMax = o.RtoMax,
            MaxTimerBackoff = o.MaxTimerBackoff,
            DelayedAckMax = o.DelayedAckMax,
            HeartbeatInterval = o.HeartbeatInterval,
            CookieLifetime = o.CookieLifetime,
            InitialCwndMtus = o.InitialCwndMtus,
            AcceptZeroChecksum = o.AcceptZeroChecksum,
            Random = o.Random ?? r,
        };
    }

    private static TimeSpan? Min(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a < b ? a : b;
}
