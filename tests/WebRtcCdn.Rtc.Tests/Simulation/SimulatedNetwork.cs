using System.Net;

namespace WebRtcCdn.Rtc.Tests.Simulation;

/// <summary>
/// A deterministic datagram network with virtual time (after quinn-proto's test Pair): links with delay, jitter,
/// loss, duplication and reordering, NATs, and a filter to cut paths. Everything random comes from one seeded RNG,
/// so a seed reproduces a run exactly. Time only moves when <see cref="Step"/> jumps to the next event.
/// </summary>
public sealed class SimulatedNetwork(int seed)
{
    private readonly Random _random = new(seed);
    private readonly Dictionary<IPEndPoint, ISimNode> _endpoints = [];
    private readonly List<ISimNode> _nodes = [];
    private readonly Dictionary<IPEndPoint, SimNat> _behindNat = [];
    private readonly Dictionary<IPAddress, SimNat> _nats = [];
    private readonly Dictionary<(IPAddress, IPAddress), LinkConditions> _links = [];
    private readonly PriorityQueue<SimDatagram, (TimeSpan At, long Seq)> _inFlight = new();
    private long _seq;

    public TimeSpan Now { get; private set; }

    public LinkConditions DefaultLink { get; set; } = new();

    /// <summary>Return false to drop a datagram (e.g. to cut a path and test consent expiry).</summary>
    public Func<SimDatagram, bool>? Filter { get; set; }

    public long Sent { get; private set; }

    public long Delivered { get; private set; }

    public long Dropped { get; private set; }

    public Random Random => _random;

    /// <summary>Attaches a node at a (public or private) endpoint; a node may own several endpoints.</summary>
    public void Attach(IPEndPoint endPoint, ISimNode node, SimNat? behind = null)
    {
        _endpoints[endPoint] = node;
        if (!_nodes.Contains(node))
        {
            _nodes.Add(node);
        }

        if (behind is not null)
        {
            _behindNat[endPoint] = behind;
            _nats[behind.PublicAddress] = behind;
        }
    }

    /// <summary>Conditions for datagrams between two addresses (both directions).</summary>
    public void SetLink(IPAddress a, IPAddress b, LinkConditions conditions)
    {
        _links[(a, b)] = conditions;
        _links[(b, a)] = conditions;
    }

    public void Send(IPEndPoint from, IPEndPoint to, byte[] payload)
    {
        Sent++;
        if (_behindNat.TryGetValue(from, out var nat))
        {
            from = nat.Translate(from, to);
        }

        var datagram = new SimDatagram(from, to, payload);
        var link = _links.GetValueOrDefault((from.Address, to.Address)) ?? DefaultLink;
        if (Filter?.Invoke(datagram) == false || _random.NextDouble() < link.Loss)
        {
            Dropped++;
            return;
        }

        var copies = _random.NextDouble() < link.Duplicate ? 2 : 1;
        for (var i = 0; i < copies; i++)
        {
            var delay = link.Delay + (link.Jitter * _random.NextDouble());
            if (_random.NextDouble() < link.Reorder)
            {
                delay += link.ReorderDelay;
            }

            _inFlight.Enqueue(datagram, (Now + delay, _seq++));
        }
    }

    /// <summary>Advances to the next event (delivery or timer) and processes everything due. False when idle.</summary>
    public bool Step() => Step(TimeSpan.MaxValue);

    /// <summary>Like <see cref="Step()"/>, but does nothing (returns false) when the next event is after <paramref name="until"/>.</summary>
    public bool Step(TimeSpan until)
    {
        var next = TimeSpan.MaxValue;
        if (_inFlight.TryPeek(out _, out var head))
        {
            next = head.At;
        }

        foreach (var node in _nodes)
        {
            if (node.NextTimeout is { } t && t < next)
            {
                next = t;
            }
        }

        if (next == TimeSpan.MaxValue || next > until)
        {
            return false;
        }

        if (next > Now)
        {
            Now = next;
        }

        while (_inFlight.TryPeek(out var d, out var at) && at.At <= Now)
        {
            _inFlight.Dequeue();
            Deliver(d);
        }

        foreach (var node in _nodes.ToList())
        {
            if (node.NextTimeout is { } t && t <= Now)
            {
                node.HandleTimeout(Now);
            }
        }

        return true;
    }

    /// <summary>Steps until <paramref name="condition"/> holds or virtual time passes <paramref name="limit"/>.</summary>
    public bool RunUntil(Func<bool> condition, TimeSpan limit)
    {
        var end = Now + limit;
        for (var steps = 0; steps < 5_000_000; steps++)
        {
            if (condition())
            {
                return true;
            }

            if (!Step(end))
            {
                return condition();
            }
        }

        return condition();
    }

    /// <summary>Runs for a span of virtual time, processing everything due in it.</summary>
    public void RunFor(TimeSpan span)
    {
        var end = Now + span;
        RunUntil(() => false, span);
        Now = end;
    }

    private void Deliver(SimDatagram datagram)
    {
        var to = datagram.To;
        if (_nats.TryGetValue(to.Address, out var nat))
        {
            if (nat.Admit(to, datagram.From) is not { } inside)
            {
                Dropped++;
                return;
            }

            datagram = datagram with { To = inside };
        }

        if (!_endpoints.TryGetValue(datagram.To, out var node))
        {
            Dropped++;
            return;
        }

        Delivered++;
        node.Receive(datagram, Now);
    }
}
