using System.Net;
using WebRtcCdn.Rtc.Stun;

namespace WebRtcCdn.Rtc.Turn;

/// <summary>
/// A sans-IO TURN client (RFC 8656) for one allocation over UDP: Allocate with long-term credentials
/// (401 -> REALM/NONCE -> retry, 438 Stale Nonce -> retry with the new nonce), Refresh, CreatePermission,
/// ChannelBind, Send/Data indications and ChannelData. Every datagram it emits goes to <see cref="Server"/>;
/// <see cref="HandleDatagram"/> takes every datagram from there.
/// </summary>
public sealed class TurnClient
{
    /// <summary>REQUESTED-TRANSPORT value for UDP (IANA protocol number 17).</summary>
    private const byte UdpProtocol = 17;

    private readonly TurnClientOptions _options;
    private readonly string _username;
    private readonly string _password;
    private readonly Dictionary<StunTransactionId, Transaction> _transactions = [];
    private readonly Dictionary<IPAddress, Permission> _permissions = [];
    private readonly Dictionary<IPEndPoint, Channel> _channelsByPeer = [];
    private readonly Dictionary<ushort, Channel> _channelsByNumber = [];
    private readonly Queue<byte[]> _transmits = new();
    private readonly Queue<TurnEvent> _events = new();
    private string? _realm;
    private string? _nonce;
    private byte[]? _key;
    private TimeSpan _refreshAt = TimeSpan.MaxValue;
    private ushort _nextChannel = ChannelData.MinChannel;

    public TurnClient(IPEndPoint server, string username, string password, TurnClientOptions? options = null)
    {
        Server = server;
        _username = username;
        _password = password;
        _options = options ?? new TurnClientOptions();
    }

    public IPEndPoint Server { get; }

    public TurnClientState State { get; private set; }

    public IPEndPoint? RelayedAddress { get; private set; }

    public IPEndPoint? MappedAddress { get; private set; }

    /// <summary>Sends the first (unauthenticated) Allocate; the server's 401 supplies realm and nonce.</summary>
    public void Start(TimeSpan now)
    {
        if (State != TurnClientState.Idle)
        {
            return;
        }

        State = TurnClientState.Allocating;
        StartTransaction(new Transaction { Kind = Kind.Allocate }, now);
    }

    /// <summary>Installs (or refreshes) a permission for a peer's IP address.</summary>
    public void CreatePermission(IPAddress peer, TimeSpan now)
    {
        if (State != TurnClientState.Allocated || !GetOrAddPermission(peer, out var permission) || permission.Pending)
        {
            return;
        }

        permission.Pending = true;
        StartTransaction(new Transaction { Kind = Kind.CreatePermission, PeerAddress = peer }, now);
    }

    /// <summary>Binds a channel to a peer so data goes as 4-byte-header ChannelData instead of Send indications.</summary>
    public void BindChannel(IPEndPoint peer, TimeSpan now)
    {
        if (State != TurnClientState.Allocated || _channelsByPeer.ContainsKey(peer))
        {
            return;
        }

        if (_channelsByNumber.Count > ChannelData.MaxChannel - ChannelData.MinChannel || _channelsByPeer.Count >= _options.MaxPeers)
        {
            return;
        }

        while (_channelsByNumber.ContainsKey(_nextChannel))
        {
            _nextChannel = _nextChannel == ChannelData.MaxChannel ? ChannelData.MinChannel : (ushort)(_nextChannel + 1);
        }

        var channel = new Channel(peer, _nextChannel) { Pending = true };
        _channelsByPeer[peer] = channel;
        _channelsByNumber[channel.Number] = channel;
        StartTransaction(new Transaction { Kind = Kind.ChannelBind, Peer = peer, Channel = channel.Number }, now);
    }

    /// <summary>
    /// Relays a datagram to a peer: ChannelData on a bound channel, a Send indication under a permission, otherwise
    /// queued (bounded) while a permission is created. Returns false when it had to be dropped.
    /// </summary>
    public bool Send(IPEndPoint peer, ReadOnlySpan<byte> data, TimeSpan now)
    {
        if (State != TurnClientState.Allocated)
        {
            return false;
        }

        if (_channelsByPeer.TryGetValue(peer, out var channel) && channel.Bound)
        {
            _transmits.Enqueue(ChannelData.Encode(channel.Number, data));
            return true;
        }

        if (!GetOrAddPermission(peer.Address, out var permission))
        {
            return false;
        }

        if (permission.Installed)
        {
            _transmits.Enqueue(SendIndication(peer, data));
            return true;
        }

        if (permission.Queue.Count >= _options.MaxQueuedPerPeer)
        {
            return false;
        }

        permission.Queue.Enqueue((peer, data.ToArray()));
        CreatePermission(peer.Address, now);
        return true;
    }

    /// <summary>Deletes the allocation (Refresh with LIFETIME 0, RFC 8656 sec. 7); nothing is relayed afterwards.</summary>
    public void Close(TimeSpan now)
    {
        if (State == TurnClientState.Allocated)
        {
            var message = Authenticate(new StunMessage(StunMethod.Refresh, StunClass.Request, StunTransactionId.New()).AddUInt32(StunAttributeType.Lifetime, 0));
            _transmits.Enqueue(message);
        }

        _ = now;
        State = TurnClientState.Closed;
        _transactions.Clear();
    }

    /// <summary>Takes one datagram that came from <see cref="Server"/>. Returns false when it was not understood (dropped).</summary>
    public bool HandleDatagram(ReadOnlySpan<byte> data, TimeSpan now)
    {
        if (State is TurnClientState.Closed or TurnClientState.Idle)
        {
            return false;
        }

        if (ChannelData.IsChannelData(data))
        {
            if (!ChannelData.TryDecode(data, out var number, out var payload) || !_channelsByNumber.TryGetValue(number, out var channel) || !channel.Bound)
            {
                return false;
            }

            _events.Enqueue(new TurnDataEvent(channel.Peer, payload.ToArray()));
            return true;
        }

        if (!StunMessage.TryParse(data, out var message))
        {
            return false;
        }

        if (message.Class == StunClass.Indication)
        {
            if (message.Method != StunMethod.Data || message.GetXorAddress(StunAttributeType.XorPeerAddress) is not { } peer ||
                message.Get(StunAttributeType.Data) is not { } bytes)
            {
                return false;
            }

            _events.Enqueue(new TurnDataEvent(peer, bytes));
            return true;
        }

        if (message.Class == StunClass.Request || !_transactions.Remove(message.TransactionId, out var tx))
        {
            return false;
        }

        // A response to an authenticated request must carry a valid MESSAGE-INTEGRITY (RFC 8489 sec. 9.2.5);
        // otherwise it could be forged by anyone who can send to us. 401/438 answers are unauthenticated by design.
        if (tx.Authenticated && message.Class == StunClass.SuccessResponse && (_key is null || !message.VerifyIntegrity(_key)))
        {
            _transactions[message.TransactionId] = tx;
            return false;
        }

        if (message.Class == StunClass.SuccessResponse)
        {
            OnSuccess(tx, message, now);
        }
        else
        {
            OnError(tx, message, now);
        }

        return true;
    }

    public void HandleTimeout(TimeSpan now)
    {
        if (State is TurnClientState.Closed or TurnClientState.Failed)
        {
            return;
        }

        List<(StunTransactionId, Transaction)>? due = null;
        foreach (var (id, tx) in _transactions)
        {
            if (tx.NextAt <= now)
            {
                (due ??= []).Add((id, tx));
            }
        }

        foreach (var (id, tx) in due ?? [])
        {
            if (tx.Transmissions >= _options.MaxTransmissions)
            {
                _transactions.Remove(id);
                OnTimeout(tx);
                continue;
            }

            tx.Transmissions++;
            tx.Rto = Min(tx.Rto * 2, _options.MaxRto);
            tx.NextAt = now + tx.Rto;
            _transmits.Enqueue(tx.Bytes);
        }

        if (State == TurnClientState.Allocated && now >= _refreshAt)
        {
            _refreshAt = TimeSpan.MaxValue;
            StartTransaction(new Transaction { Kind = Kind.Refresh }, now);
        }

        foreach (var permission in _permissions.Values)
        {
            if (permission.Installed && !permission.Pending && now >= permission.RefreshAt)
            {
                permission.Pending = true;
                StartTransaction(new Transaction { Kind = Kind.CreatePermission, PeerAddress = permission.Peer }, now);
            }
        }

        foreach (var channel in _channelsByPeer.Values)
        {
            if (channel.Bound && !channel.Pending && now >= channel.RefreshAt)
            {
                channel.Pending = true;
                StartTransaction(new Transaction { Kind = Kind.ChannelBind, Peer = channel.Peer, Channel = channel.Number }, now);
            }
        }
    }

    public TimeSpan? PollTimeout()
    {
        if (State is TurnClientState.Closed or TurnClientState.Failed or TurnClientState.Idle)
        {
            return null;
        }

        var next = _refreshAt;
        foreach (var tx in _transactions.Values)
        {
            next = Min(next, tx.NextAt);
        }

        foreach (var permission in _permissions.Values)
        {
            if (permission.Installed && !permission.Pending)
            {
                next = Min(next, permission.RefreshAt);
            }
        }

        foreach (var channel in _channelsByPeer.Values)
        {
            if (channel.Bound && !channel.Pending)
            {
                next = Min(next, channel.RefreshAt);
            }
        }

        return next == TimeSpan.MaxValue ? null : next;
    }

    /// <summary>The next datagram for <see cref="Server"/>, or null.</summary>
    public byte[]? PollTransmit() => _transmits.TryDequeue(out var bytes) ? bytes : null;

    public TurnEvent? PollEvent() => _events.TryDequeue(out var e) ? e : null;

    private void OnSuccess(Transaction tx, StunMessage message, TimeSpan now)
    {
        switch (tx.Kind)
        {
            case Kind.Allocate:
                var relayed = message.GetXorAddress(StunAttributeType.XorRelayedAddress);
                var mapped = message.GetXorAddress(StunAttributeType.XorMappedAddress);
                if (relayed is null || mapped is null)
                {
                    Fail("Allocate success without XOR-RELAYED-ADDRESS / XOR-MAPPED-ADDRESS");
                    return;
                }

                var lifetime = TimeSpan.FromSeconds(message.GetUInt32(StunAttributeType.Lifetime) ?? (uint)_options.Lifetime.TotalSeconds);
                RelayedAddress = relayed;
                MappedAddress = mapped;
                State = TurnClientState.Allocated;
                _refreshAt = now + RefreshDelay(lifetime);
                _events.Enqueue(new TurnAllocatedEvent(relayed, mapped, lifetime));
                break;
            case Kind.Refresh:
                var granted = TimeSpan.FromSeconds(message.GetUInt32(StunAttributeType.Lifetime) ?? (uint)_options.Lifetime.TotalSeconds);
                _refreshAt = now + RefreshDelay(granted);
                break;
            case Kind.CreatePermission:
                if (_permissions.TryGetValue(tx.PeerAddress!, out var permission))
                {
                    var first = !permission.Installed;
                    permission.Installed = true;
                    permission.Pending = false;
                    permission.RefreshAt = now + _options.PermissionRefresh;
                    while (permission.Queue.TryDequeue(out var item))
                    {
                        _transmits.Enqueue(SendIndication(item.Peer, item.Data));
                    }

                    if (first)
                    {
                        _events.Enqueue(new TurnPermissionEvent(permission.Peer, true));
                    }
                }

                break;
            case Kind.ChannelBind:
                if (_channelsByNumber.TryGetValue(tx.Channel, out var channel))
                {
                    var first = !channel.Bound;
                    channel.Bound = true;
                    channel.Pending = false;
                    channel.RefreshAt = now + _options.ChannelRefresh;
                    if (first)
                    {
                        _events.Enqueue(new TurnChannelBoundEvent(channel.Peer, channel.Number, true));
                    }
                }

                break;
        }
    }

    private void OnError(Transaction tx, StunMessage message, TimeSpan now)
    {
        var code = message.GetErrorCode()?.Code ?? 0;
        if ((code == StunErrorCode.Unauthorized && !tx.Authenticated) || code == StunErrorCode.StaleNonce)
        {
            var realm = message.GetString(StunAttributeType.Realm);
            var nonce = message.GetString(StunAttributeType.Nonce);
            if (nonce is not null && (realm is not null || _realm is not null) && tx.AuthRetries < 2)
            {
                _realm = realm ?? _realm;
                _nonce = nonce;
                _key = StunCredentials.LongTermKey(_username, _realm!, _password);
                StartTransaction(new Transaction
                {
                    Kind = tx.Kind,
                    Peer = tx.Peer,
                    PeerAddress = tx.PeerAddress,
                    Channel = tx.Channel,
                    AuthRetries = tx.AuthRetries + 1,
                }, now);
                return;
            }
        }

        OnFailure(tx, $"{tx.Kind} refused: {code} {message.GetErrorCode()?.Reason}");
    }

    private void OnTimeout(Transaction tx) => OnFailure(tx, $"{tx.Kind} timed out");

    private void OnFailure(Transaction tx, string reason)
    {
        switch (tx.Kind)
        {
            case Kind.Allocate:
            case Kind.Refresh:
                Fail(reason);
                break;
            case Kind.CreatePermission:
                if (_permissions.Remove(tx.PeerAddress!, out var permission))
                {
                    _events.Enqueue(new TurnPermissionEvent(permission.Peer, false));
                }

                break;
            case Kind.ChannelBind:
                if (_channelsByNumber.Remove(tx.Channel, out var channel))
                {
                    _channelsByPeer.Remove(channel.Peer);
                    _events.Enqueue(new TurnChannelBoundEvent(channel.Peer, channel.Number, false));
                }

                break;
        }
    }

    private void Fail(string reason)
    {
        State = TurnClientState.Failed;
        _transactions.Clear();
        _events.Enqueue(new TurnFailedEvent(reason));
    }

    private void StartTransaction(Transaction tx, TimeSpan now)
    {
        var id = StunTransactionId.New();
        var message = new StunMessage(tx.Kind switch
        {
            Kind.Allocate => StunMethod.Allocate,
            Kind.Refresh => StunMethod.Refresh,
            Kind.CreatePermission => StunMethod.CreatePermission,
            _ => StunMethod.ChannelBind,
        }, StunClass.Request, id);
        switch (tx.Kind)
        {
            case Kind.Allocate:
                message.AddRequestedTransport(UdpProtocol);
                message.AddUInt32(StunAttributeType.Lifetime, (uint)_options.Lifetime.TotalSeconds);
                break;
            case Kind.Refresh:
                message.AddUInt32(StunAttributeType.Lifetime, (uint)_options.Lifetime.TotalSeconds);
                break;
            case Kind.CreatePermission:
                message.AddXorAddress(StunAttributeType.XorPeerAddress, new IPEndPoint(tx.PeerAddress!, 0));
                break;
            case Kind.ChannelBind:
                message.AddChannelNumber(tx.Channel);
                message.AddXorAddress(StunAttributeType.XorPeerAddress, tx.Peer!);
                break;
        }

        tx.Authenticated = _key is not null;
        tx.Bytes = Authenticate(message);
        tx.Rto = _options.InitialRto;
        tx.NextAt = now + tx.Rto;
        tx.Transmissions = 1;
        _transactions[id] = tx;
        _transmits.Enqueue(tx.Bytes);
    }

    private byte[] Authenticate(StunMessage message)
    {
        if (_options.Software is { } software)
        {
            message.AddString(StunAttributeType.Software, software);
        }

        if (_key is null)
        {
            return message.Encode(fingerprint: true);
        }

        message.AddString(StunAttributeType.Username, _username)
            .AddString(StunAttributeType.Realm, _realm!)
            .AddString(StunAttributeType.Nonce, _nonce!);
        return message.Encode(_key, fingerprint: true);
    }

    private static byte[] SendIndication(IPEndPoint peer, ReadOnlySpan<byte> data) =>
        new StunMessage(StunMethod.Send, StunClass.Indication, StunTransactionId.New())
            .AddXorAddress(StunAttributeType.XorPeerAddress, peer)
            .Add(StunAttributeType.Data, data.ToArray())
            .Encode(fingerprint: true);

    private bool GetOrAddPermission(IPAddress peer, out Permission permission)
    {
        if (_permissions.TryGetValue(peer, out permission!))
        {
            return true;
        }

        if (_permissions.Count >= _options.MaxPeers)
        {
            return false;
        }

        permission = new Permission(peer);
        _permissions[peer] = permission;
        return true;
    }

    /// <summary>Refresh a minute before expiry (RFC 8656 sec. 7 suggests well before), or halfway for short lifetimes.</summary>
    private static TimeSpan RefreshDelay(TimeSpan lifetime) =>
        lifetime > TimeSpan.FromMinutes(2) ? lifetime - TimeSpan.FromMinutes(1) : lifetime / 2;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private enum Kind
    {
        Allocate,
        Refresh,
        CreatePermission,
        ChannelBind,
    }

    private sealed class Transaction
    {
        public Kind Kind { get; init; }

        public IPEndPoint? Peer { get; init; }

        public IPAddress? PeerAddress { get; init; }

        public ushort Channel { get; init; }

        public int AuthRetries { get; init; }

        public bool Authenticated { get; set; }

        public byte[] Bytes { get; set; } = [];

        public TimeSpan NextAt { get; set; }

        public TimeSpan Rto { get; set; }

        public int Transmissions { get; set; }
    }

    private sealed class Permission(IPAddress peer)
    {
        public IPAddress Peer { get; } = peer;

        public bool Installed { get; set; }

        public bool Pending { get; set; }

        public TimeSpan RefreshAt { get; set; }

        public Queue<(IPEndPoint Peer, byte[] Data)> Queue { get; } = new();
    }

    private sealed class Channel(IPEndPoint peer, ushort number)
    {
        public IPEndPoint Peer { get; } = peer;

        public ushort Number { get; } = number;

        public bool Bound { get; set; }

        public bool Pending { get; set; }

        public TimeSpan RefreshAt { get; set; }
    }
}
