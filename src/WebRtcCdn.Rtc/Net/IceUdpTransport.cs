using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Threading.Channels;
using WebRtcCdn.Rtc.Ice;

namespace WebRtcCdn.Rtc.Net;

/// <summary>
/// Drives one <see cref="IceAgent"/> over a <see cref="UdpMux"/>: feeds it datagrams and timer ticks (from an
/// injected <see cref="TimeProvider"/>), sends what it emits, and publishes its events. Every call into the agent
/// happens under one lock (the agent is single-writer). STUN goes to the agent; DTLS (RFC 7983 first byte 20-63)
/// that arrives directly, or unwrapped from a TURN relay, goes to <see cref="DataReceived"/>; application data
/// leaves over the agent's selected pair through <see cref="Send"/>.
/// </summary>
public sealed class IceUdpTransport : IUdpMuxReceiver, IAsyncDisposable
{
    private readonly IceAgent _agent;
    private readonly UdpMux _mux;
    private readonly TimeProvider _time;
    private readonly long _origin;
    private readonly Lock _lock = new();
    private readonly ITimer _timer;
    private readonly Channel<IceEvent> _events = Channel.CreateUnbounded<IceEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly List<(byte[] Data, IPEndPoint Remote)> _relayed = [];
    private readonly CancellationTokenSource _closing = new();
    private int _resolving;
    private bool _disposed;

    /// <summary>The direct route for bulk sends and whether DTLS may skip the agent on receipt; refreshed under the
    /// lock after every agent call (<see cref="Flush"/>), read without it on the hot paths.</summary>
    private volatile IPEndPoint? _directRemote;
    private volatile bool _hasTurn;

    /// <summary>DTLS datagrams of the current receive burst (receive loop only), handed to <see cref="BatchReceived"/> at its end.</summary>
    private DatagramBatch? _pending;

    /// <summary>At most this many mDNS lookups at once per connection: remote candidates come from the peer.</summary>
    private const int MaxConcurrentResolutions = 8;

    public IceUdpTransport(IceAgent agent, UdpMux mux, TimeProvider? timeProvider = null)
    {
        _agent = agent;
        _mux = mux;
        _time = timeProvider ?? TimeProvider.System;
        _origin = _time.GetTimestamp();
        _timer = _time.CreateTimer(_ => OnTimer(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        mux.Register(agent.LocalUfrag, this);
    }

    /// <summary>Application (DTLS) datagrams from the peer. Called on the receive loop: hand off, do not block.</summary>
    public Action<ReadOnlyMemory<byte>, IPEndPoint>? DataReceived { get; set; }

    /// <summary>
    /// When set, application (DTLS) datagrams arrive a burst at a time instead of through <see cref="DataReceived"/>:
    /// the callee owns the batch and gives it back with <see cref="DatagramBatch.Return"/>. Called on the receive loop.
    /// </summary>
    public Action<DatagramBatch>? BatchReceived { get; set; }

    /// <summary>The agent's events in order (state changes, local candidates, selected pair...).</summary>
    public ChannelReader<IceEvent> Events => _events.Reader;

    public string LocalUfrag => _agent.LocalUfrag;

    public string LocalPassword => _agent.LocalPassword;

    public IceConnectionState State
    {
        get
        {
            lock (_lock)
            {
                return _agent.State;
            }
        }
    }

    /// <summary>Our candidates so far (for a non-trickle description; trickle uses <see cref="IceLocalCandidateEvent"/>).</summary>
    public IReadOnlyList<IceCandidate> LocalCandidates
    {
        get
        {
            lock (_lock)
            {
                return _agent.LocalCandidates;
            }
        }
    }

    public bool GatheringComplete
    {
        get
        {
            lock (_lock)
            {
                return _agent.GatheringComplete;
            }
        }
    }

    /// <summary>Current role (a role conflict may have switched it); decides nothing for DTLS, which follows a=setup.</summary>
    public bool IsControlling
    {
        get
        {
            lock (_lock)
            {
                return _agent.IsControlling;
            }
        }
    }

    public IceCandidatePairInfo? SelectedPair
    {
        get
        {
            lock (_lock)
            {
                return _agent.SelectedPair;
            }
        }
    }

    /// <summary>
    /// Adds host candidates for the mux's socket (the bound address, or every suitable interface address when it
    /// is bound to Any) and starts gathering from the configured STUN/TURN servers.
    /// </summary>
    public void Start(IEnumerable<IPAddress>? hostAddresses = null)
    {
        var port = _mux.LocalEndPoint.Port;
        var addresses = hostAddresses?.ToList() ?? HostAddresses(_mux.LocalEndPoint);
        Run(now =>
        {
            foreach (var address in addresses)
            {
                _agent.AddHostCandidate(new IPEndPoint(address, port), now);
            }

            _agent.StartGathering(now);
        });
    }

    public void SetRemoteCredentials(string ufrag, string password) => Run(now => _agent.SetRemoteCredentials(ufrag, password, now));

    /// <summary>
    /// Resolves ".local" remote candidates by multicast DNS when set (the agent then gets the IP form); without it
    /// such candidates are ignored and the peer is found peer-reflexively from its checks.
    /// </summary>
    public MdnsResolver? MdnsResolver { get; init; }

    /// <summary>
    /// Adds a remote candidate. An mDNS candidate with a <see cref="MdnsResolver"/> is resolved in the background and
    /// true means "accepted for resolution".
    /// </summary>
    public bool AddRemoteCandidate(IceCandidate candidate)
    {
        if (candidate.IsMdns && MdnsResolver is { } resolver)
        {
            if (Interlocked.Increment(ref _resolving) > MaxConcurrentResolutions)
            {
                Interlocked.Decrement(ref _resolving);
                return false;
            }

            _ = ResolveAndAddAsync(candidate, resolver);
            return true;
        }

        var added = false;
        Run(now => added = _agent.AddRemoteCandidate(candidate, now));
        return added;
    }

    public void AddRemoteEndOfCandidates() => Run(_agent.AddRemoteEndOfCandidates);

    /// <summary>Sends application data over the selected pair; false when there is none yet (or any more).</summary>
    public bool Send(ReadOnlySpan<byte> payload)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return false;
            }

            var ok = _agent.Send(payload, Now);
            Flush();
            return ok;
        }
    }

    /// <summary>
    /// Sends a burst of application data over the selected pair: straight to the socket in as few system calls as it
    /// allows when the pair is direct, datagram by datagram through the agent when it is relayed. False when there is
    /// no pair (yet or any more).
    /// </summary>
    public bool SendBatch(DatagramBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (_directRemote is { } remote && !_disposed)
        {
            _mux.SendBatch(batch, remote, this);
            return true;
        }

        var ok = true;
        for (var i = 0; i < batch.Count && ok; i++)
        {
            ok = Send(batch[i]);
        }

        return ok;
    }

    private async Task ResolveAndAddAsync(IceCandidate candidate, MdnsResolver resolver)
    {
        try
        {
            if (await resolver.ResolveAsync(candidate.Address, _closing.Token).ConfigureAwait(false) is { } address)
            {
                Run(now => _agent.AddRemoteCandidate(candidate with { Address = address.ToString() }, now));
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            Interlocked.Decrement(ref _resolving);
        }
    }

    void IUdpMuxReceiver.OnDatagram(ReadOnlySpan<byte> datagram, IPEndPoint remote)
    {
        var kind = DatagramClassifier.Classify(datagram);
        if (kind == DatagramKind.Dtls && !_hasTurn && BatchReceived is not null)
        {
            // Without TURN the agent has nothing to do with DTLS (it would return false): no lock, no agent call.
            AddToPending(datagram);
            return;
        }

        bool consumed;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            consumed = _agent.HandleDatagram(datagram, _mux.LocalEndPoint, remote, Now);
            Flush();
        }

        if (!consumed && kind == DatagramKind.Dtls)
        {
            if (BatchReceived is not null)
            {
                AddToPending(datagram);
            }
            else
            {
                DataReceived?.Invoke(datagram.ToArray(), remote);
            }
        }

        DeliverRelayed();
    }

    void IUdpMuxReceiver.OnReceiveBatchEnd() => FlushPending();

    private void AddToPending(ReadOnlySpan<byte> datagram)
    {
        _pending ??= DatagramBatch.Rent();
        if (!_pending.TryAdd(datagram))
        {
            FlushPending();
            _pending = DatagramBatch.Rent();
            if (!_pending.TryAdd(datagram))
            {
                return; // larger than a whole batch: not a datagram of ours (DTLS records are at most ~16 KiB)
            }
        }
    }

    private void FlushPending()
    {
        if (_pending is not { } batch)
        {
            return;
        }

        _pending = null;
        if (BatchReceived is { } callback && batch.Count > 0)
        {
            callback(batch);
        }
        else
        {
            DatagramBatch.Return(batch);
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _agent.Close(Now);
            Flush();
            _disposed = true;
            _directRemote = null;
        }

        await _closing.CancelAsync().ConfigureAwait(false);
        _mux.Unregister(_agent.LocalUfrag);
        await _timer.DisposeAsync().ConfigureAwait(false);
        _events.Writer.TryComplete();
    }

    private TimeSpan Now => _time.GetElapsedTime(_origin);

    private void OnTimer()
    {
        Run(_agent.HandleTimeout);
    }

    private void Run(Action<TimeSpan> action)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            action(Now);
            Flush();
        }

        DeliverRelayed();
    }

    /// <summary>Sends the agent's datagrams, publishes its events and re-arms the timer. Under the lock.</summary>
    private void Flush()
    {
        _directRemote = _disposed ? null : _agent.DirectSendRemote;
        _hasTurn = _agent.HasTurn;
        while (_agent.PollTransmit() is { } t)
        {
            _mux.Send(t.Payload, t.Remote, this);
        }

        while (_agent.PollEvent() is { } e)
        {
            if (e is IceDataReceivedEvent data)
            {
                _relayed.Add((data.Data, data.Remote));
                continue;
            }

            _events.Writer.TryWrite(e);
        }

        var next = _agent.PollTimeout();
        if (next is { } at)
        {
            var due = at - Now;
            _timer.Change(due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Relayed application data is handed out after the lock is released (the callback may send).</summary>
    private void DeliverRelayed()
    {
        if (BatchReceived is { } batchCallback)
        {
            DeliverRelayedAsBatch(batchCallback);
            return;
        }

        if (DataReceived is not { } callback)
        {
            return;
        }

        List<(byte[] Data, IPEndPoint Remote)> items;
        lock (_lock)
        {
            if (_relayed.Count == 0)
            {
                return;
            }

            items = [.. _relayed];
            _relayed.Clear();
        }

        foreach (var (data, remote) in items)
        {
            callback(data, remote);
        }
    }

    private void DeliverRelayedAsBatch(Action<DatagramBatch> callback)
    {
        DatagramBatch? batch = null;
        lock (_lock)
        {
            foreach (var (data, _) in _relayed)
            {
                batch ??= DatagramBatch.Rent();
                if (!batch.TryAdd(data))
                {
                    break; // a batch holds 64 datagrams; TURN relays one or two at a time
                }
            }

            _relayed.Clear();
        }

        if (batch is not null)
        {
            callback(batch);
        }
    }

    private static List<IPAddress> HostAddresses(IPEndPoint bound)
    {
        if (!bound.Address.Equals(IPAddress.Any) && !bound.Address.Equals(IPAddress.IPv6Any))
        {
            return [bound.Address];
        }

        var family = bound.AddressFamily;
        var list = new List<IPAddress>();
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus != OperationalStatus.Up || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
            {
                continue;
            }

            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
            {
                var a = unicast.Address;
                if (a.AddressFamily == family && !a.IsIPv6LinkLocal)
                {
                    list.Add(a);
                }
            }
        }

        if (list.Count == 0)
        {
            list.Add(family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback);
        }

        return list;
    }
}
