using System.Net;
using WebRtcCdn.Rtc.Ice;
using WebRtcCdn.Rtc.Tests.Simulation;

namespace WebRtcCdn.Rtc.Tests.Ice;

/// <summary>An <see cref="IceAgent"/> on the simulated network: delivers datagrams, fires its timer, records its output.</summary>
public sealed class IceNode : ISimNode
{
    private readonly SimulatedNetwork _network;

    public IceNode(SimulatedNetwork network, IceAgent agent, params IPEndPoint[] hosts)
    {
        _network = network;
        Agent = agent;
        Hosts = hosts;
    }

    public IceAgent Agent { get; }

    public IReadOnlyList<IPEndPoint> Hosts { get; }

    public List<IceEvent> Events { get; } = [];

    public List<IceConnectionState> States { get; } = [];

    public List<IceCandidate> LocalCandidates { get; } = [];

    public List<byte[]> AppData { get; } = [];

    public bool GatheringComplete { get; private set; }

    public int StunSent { get; private set; }

    /// <summary>When set, every local candidate is handed to this as it appears (trickle).</summary>
    public Action<IceCandidate>? OnCandidate { get; set; }

    public TimeSpan? NextTimeout => Agent.PollTimeout();

    public void Attach(SimNat? nat = null)
    {
        foreach (var h in Hosts)
        {
            _network.Attach(h, this, nat);
        }
    }

    public void Start()
    {
        foreach (var h in Hosts)
        {
            Agent.AddHostCandidate(h, _network.Now);
        }

        Agent.StartGathering(_network.Now);
        Drain();
    }

    public void Receive(SimDatagram datagram, TimeSpan now)
    {
        if (!Agent.HandleDatagram(datagram.Payload, datagram.To, datagram.From, now))
        {
            AppData.Add(datagram.Payload);
        }

        Drain();
    }

    public void HandleTimeout(TimeSpan now)
    {
        Agent.HandleTimeout(now);
        Drain();
    }

    public void Drain()
    {
        while (Agent.PollTransmit() is { } t)
        {
            if (t.Payload.Length > 0 && t.Payload[0] < 4)
            {
                StunSent++;
            }

            _network.Send(t.Local, t.Remote, t.Payload);
        }

        while (Agent.PollEvent() is { } e)
        {
            Events.Add(e);
            switch (e)
            {
                case IceStateChangedEvent s:
                    States.Add(s.State);
                    break;
                case IceLocalCandidateEvent c:
                    LocalCandidates.Add(c.Candidate);
                    OnCandidate?.Invoke(c.Candidate);
                    break;
                case IceGatheringCompleteEvent:
                    GatheringComplete = true;
                    break;
                case IceDataReceivedEvent d:
                    AppData.Add(d.Data);
                    break;
            }
        }
    }
}
