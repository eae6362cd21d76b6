using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Core.Signaling;
using WebRtcCdn.Server.Cluster;
using WebRtcCdn.Server.Observability;

namespace WebRtcCdn.Server.Signaling;

/// <summary>
/// The native signaling node: assigns peer ids, keeps swarm membership (locally, and in the cluster when Redis
/// is configured), answers joins with chosen candidates, relays offer/answer/candidate only between peers that
/// share a swarm, and enforces the per-connection limits. Sessions call <see cref="RunSessionAsync"/>.
/// </summary>
public sealed partial class SignalingHub : IClusterHandler, IAsyncDisposable
{
    public const string Endpoint = "signaling";

    /// <summary>Protocol errors a connection may make in a burst before it is closed (refilled at one per second).</summary>
    private const int ErrorBurst = 10;

    private readonly WebRtcCdnOptions _options;
    private readonly SignalingLimitsOptions _limits;
    private readonly TimeProvider _time;
    private readonly ILogger<SignalingHub> _logger;
    private readonly SignalingMetrics _metrics;
    private readonly ISignalingCluster? _cluster;
    private readonly TransferStats _transfers;
    private readonly ConcurrentDictionary<string, SignalingSession> _sessions = new(StringComparer.Ordinal);
    private readonly Lock _contactLock = new();
    private readonly Dictionary<string, HashSet<SignalingSession>> _watchers = new(StringComparer.Ordinal);
    private readonly ITimer _idleSweep;

    public SignalingHub(WebRtcCdnOptions options, TimeProvider time, ILogger<SignalingHub> logger, SignalingMetrics metrics, TransferStats transfers, ISignalingCluster? cluster)
    {
        _options = options;
        _limits = options.Signaling.Limits;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        _transfers = transfers;
        _cluster = cluster;
        Registry = new SwarmRegistry(_limits.PeersPerSwarm, _limits.SwarmsPerPeer);
        NetworkGroups = new NetworkGroupMap(options.Signaling.NetworkGroups);
        IceServers = new IceServerProvider(options.IceServers, time);
        ResumeTokens = new ResumeTokens(options.Signaling.TokenSecret, time);
        // A tenth of the idle timeout: a silent connection is closed at most 10% late; clamped so tests and huge timeouts stay sane.
        var sweep = TimeSpan.FromTicks(Math.Clamp(_limits.IdleTimeout.Ticks / 10, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromSeconds(5).Ticks));
        _idleSweep = time.CreateTimer(_ => SweepIdle(), null, sweep, sweep);
        metrics.Gauge("webrtc_cdn_signaling_peers", "Connected /signaling peers on this node", () => [new Measurement<long>(_sessions.Count)]);
        metrics.Gauge("webrtc_cdn_signaling_swarms", "Swarms with at least one peer of this node", () => [new Measurement<long>(Registry.SwarmCount)]);
    }

    public SwarmRegistry Registry { get; }

    public NetworkGroupMap NetworkGroups { get; }

    public IceServerProvider IceServers { get; }

    public ResumeTokens ResumeTokens { get; }

    public ISignalingCluster? Cluster => _cluster;

    public int SessionCount => _sessions.Count;

    /// <summary>Test hook: runs in a local relay after the message went to the target, before the two become contacts.</summary>
    internal Action<SignalingSession>? AfterRelaySendForTests { get; set; }

    /// <summary>Peer connections the connected peers last reported, halved (each connection has two ends).</summary>
    public long ActiveTransfers => _sessions.Values.Sum(s => (long)s.Connections) / 2;

    public Task StartAsync(CancellationToken cancellationToken) =>
        _cluster?.StartAsync(this, Registry.Snapshot, cancellationToken) ?? Task.CompletedTask;

    /// <summary>Runs one connection accepted through ASP.NET Core's WebSocket (HTTP/2, or a request the lean transport left to HTTP) until it closes.</summary>
    public async Task RunSessionAsync(MessageSocket socket, IPAddress? address, string? resumedPeerId)
    {
        var sendLoop = socket.RunSendLoopAsync();
        var session = await OpenAsync(socket, address, resumedPeerId).ConfigureAwait(false);
        try
        {
            while (true)
            {
                var (status, buffer, length) = await socket.ReceiveAsync().ConfigureAwait(false);
                try
                {
                    if (!await ReceiveAsync(session, status, buffer.AsMemory(0, length)).ConfigureAwait(false))
                    {
                        break;
                    }
                }
                finally
                {
                    MessageSocket.Return(buffer);
                }
            }
        }
        finally
        {
            await ClosedAsync(session).ConfigureAwait(false);
            await sendLoop.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A connection was accepted: assigns its peer id (or takes over a resumed one), registers it and queues the
    /// welcome. The transport then feeds it <see cref="ReceiveAsync"/> and ends with <see cref="ClosedAsync"/>.
    /// </summary>
    public async ValueTask<SignalingSession> OpenAsync(IMessageConnection socket, IPAddress? address, string? resumedPeerId)
    {
        var peerId = resumedPeerId ?? UrlSafeBase64.Encode(RandomNumberGenerator.GetBytes(SignalingProtocol.PeerIdBytes));
        var now = _time.GetElapsedTime(0);
        var session = new SignalingSession(
            peerId,
            socket,
            address,
            NetworkGroups.Lookup(address),
            new TokenBucket(_limits.MessageRate, _limits.MessageBurst, now),
            new TokenBucket(1, ErrorBurst, now),
            _time.GetTimestamp());
        if (resumedPeerId is not null && _sessions.TryRemove(resumedPeerId, out var previous))
        {
            previous.Socket.Close(SignalingCloseCodes.Replaced, "resumed by another connection");
            await DepartAsync(previous).ConfigureAwait(false);
        }

        _sessions[peerId] = session;
        _metrics.ConnectionOpened(Endpoint);
        Send(session, Welcome(session, resumedPeerId is not null));
        return session;
    }

    /// <summary>
    /// One receive from the session's connection: a whole text message (which is only read until this returns),
    /// or the end of the connection. False when the transport should stop reading.
    /// </summary>
    public async ValueTask<bool> ReceiveAsync(SignalingSession session, ReceiveStatus status, ReadOnlyMemory<byte> message)
    {
        var socket = session.Socket;
        try
        {
            if (status == ReceiveStatus.Closed)
            {
                return false;
            }

            if (status == ReceiveStatus.TooLarge)
            {
                _metrics.Rejected(Endpoint, SignalingErrorCodes.MessageTooLarge);
                socket.Close(SignalingCloseCodes.MessageTooBig, $"message larger than {_limits.MaxMessageSize} bytes");
                return false;
            }

            session.Touch(_time.GetTimestamp());
            _metrics.MessageReceived(Endpoint);
            if (status == ReceiveStatus.Binary)
            {
                Error(session, SignalingErrorCodes.BadJson, "messages are JSON text frames", null);
                return true;
            }

            if (!session.Messages.TryTake(_time.GetElapsedTime(0)))
            {
                Error(session, SignalingErrorCodes.RateLimited, $"more than {_limits.MessageRate} messages per second", null);
                return true;
            }

            var parsed = ClientMessageParser.Parse(message);
            if (!parsed.Ok)
            {
                Error(session, parsed.ErrorCode!, parsed.ErrorText!, parsed.Id);
                return true;
            }

            try
            {
                await HandleAsync(session, parsed.Message!).ConfigureAwait(false);
            }
            catch (Exception e) when (_cluster is not null && e is not OperationCanceledException)
            {
                // Redis unreachable or failing: this request fails, the connection and the node stay up.
                LogClusterRequestFailed(_logger, e);
                Error(session, SignalingErrorCodes.ServerError, "the cluster store is unavailable; retry later", parsed.Id);
            }

            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A fault in one connection's handling must never reach another peer or the host.
            LogSessionFault(_logger, e, session.PeerId);
            socket.Close(SignalingCloseCodes.PolicyViolation, "server error");
            return false;
        }
    }

    /// <summary>The connection ended (or the transport stopped reading): leave the swarms, then close.</summary>
    public async ValueTask ClosedAsync(SignalingSession session)
    {
        // Leave the swarms before the close frame goes out: once a client saw its close complete, it is gone.
        if (_sessions.TryRemove(new KeyValuePair<string, SignalingSession>(session.PeerId, session)))
        {
            await DepartAsync(session).ConfigureAwait(false);
        }

        session.Socket.Close(1000, "bye");
    }

    private async Task HandleAsync(SignalingSession session, ClientMessage m)
    {
        switch (m.Type)
        {
            case ClientMessageType.Ping:
                Send(session, ServerMessages.Write(w =>
                {
                    w.WriteString("type", "pong");
                    WriteId(w, m.Id);
                }));
                break;
            case ClientMessageType.IceServers:
                Send(session, ServerMessages.Write(w =>
                {
                    w.WriteString("type", "ice-servers");
                    WriteId(w, m.Id);
                    ServerMessages.WriteIceServers(w, IceServers.For(session.PeerId));
                    w.WriteNumber("ttl", (long)IceServers.Ttl.TotalSeconds);
                }));
                break;
            case ClientMessageType.Join:
                await JoinAsync(session, m).ConfigureAwait(false);
                break;
            case ClientMessageType.Leave:
                if (Registry.Leave(m.Swarm!, session.PeerId))
                {
                    await SwarmLeftAsync(session.PeerId, m.Swarm!).ConfigureAwait(false);
                }

                Send(session, ServerMessages.Write(w =>
                {
                    w.WriteString("type", "left");
                    WriteId(w, m.Id);
                    w.WriteString("swarm", m.Swarm);
                }));
                break;
            case ClientMessageType.Have:
                var member = Registry.Get(m.Swarm!, session.PeerId);
                if (member is null)
                {
                    Error(session, SignalingErrorCodes.NotInSwarm, "join the swarm before sending 'have'", m.Id, "have");
                    break;
                }

                member.Chunks = m.Chunks;
                member.Total = m.Total ?? member.Total;
                member.Bitfield = m.Bitfield ?? member.Bitfield;
                member.Connections = m.Connections;
                session.Connections = m.Connections;
                _transfers.Report(ref session.ReportedUploaded, m.Uploaded, ref session.ReportedServed, m.Served);
                if (_cluster is not null)
                {
                    await _cluster.JoinAsync(m.Swarm!, member).ConfigureAwait(false);
                }

                break;
            default:
                await RelayAsync(session, m).ConfigureAwait(false);
                break;
        }
    }

    private async Task JoinAsync(SignalingSession session, ClientMessage m)
    {
        var swarm = m.Swarm!;
        var secret = _options.Signaling.TokenSecret;
        if (secret.Length > 0)
        {
            var status = JoinToken.Verify(secret, m.Token, swarm, _time.GetUtcNow());
            if (status != JoinTokenStatus.Valid)
            {
                var code = status == JoinTokenStatus.Expired ? SignalingErrorCodes.TokenExpired : SignalingErrorCodes.Unauthorized;
                Error(session, code, status switch
                {
                    JoinTokenStatus.Expired => "the join token has expired",
                    JoinTokenStatus.WrongSwarm => "the join token is not valid for this swarm",
                    _ => "a valid join token is required",
                }, m.Id, "join");
                return;
            }
        }

        session.Connections = m.Connections;
        var member = new SwarmMember
        {
            PeerId = session.PeerId,
            Role = m.Role,
            Group = session.Group,
            Chunks = m.Chunks,
            Total = m.Total,
            Bitfield = m.Bitfield,
            MaxConnections = m.MaxConnections,
            Connections = m.Connections,
            Node = _cluster?.NodeId,
        };
        switch (Registry.Join(swarm, member))
        {
            case SwarmJoinResult.SwarmFull:
                Error(session, SignalingErrorCodes.SwarmFull, $"the swarm has {_limits.PeersPerSwarm} peers on this node", m.Id, "join");
                return;
            case SwarmJoinResult.TooManySwarms:
                Error(session, SignalingErrorCodes.TooManySwarms, $"a connection may be in at most {_limits.SwarmsPerPeer} swarms", m.Id, "join");
                return;
            case SwarmJoinResult.Joined:
                _metrics.Joined(Endpoint);
                break;
        }

        List<SwarmMember> sample;
        if (_cluster is not null)
        {
            await _cluster.JoinAsync(swarm, member).ConfigureAwait(false);
            sample = await _cluster.SampleAsync(swarm).ConfigureAwait(false);
        }
        else
        {
            sample = Registry.Sample(swarm, Random.Shared);
        }

        var max = Math.Min(m.Want ?? SignalingProtocol.MaxWant, Math.Min(_options.P2P.MaxPeers, SignalingProtocol.MaxWant));
        var chosen = PeerSelector.Select(member, sample, max, Random.Shared);
        Send(session, ServerMessages.Write(w =>
        {
            w.WriteString("type", "joined");
            WriteId(w, m.Id);
            w.WriteString("swarm", swarm);
            w.WriteStartArray("peers");
            foreach (var c in chosen)
            {
                w.WriteStartObject();
                w.WriteString("peer_id", c.PeerId);
                w.WriteString("role", c.Role.ToString().ToLowerInvariant());
                w.WriteNumber("chunks", c.Chunks);
                if (c.Total is { } total)
                {
                    w.WriteNumber("total", total);
                }

                w.WriteBoolean("same_group", member.Group is not null && member.Group == c.Group);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }));
    }

    private async Task RelayAsync(SignalingSession session, ClientMessage m)
    {
        // Interned names: this runs for every relayed message.
        var type = m.Type switch
        {
            ClientMessageType.Offer => "offer",
            ClientMessageType.Answer => "answer",
            ClientMessageType.Candidate => "candidate",
            _ => m.Type.ToString().ToLowerInvariant(),
        };
        if (m.From is not null && m.From != session.PeerId)
        {
            _metrics.Rejected(Endpoint, SignalingErrorCodes.SpoofedFrom);
            Error(session, SignalingErrorCodes.SpoofedFrom, "'from' is set by the server; it must be absent or your own peer id", m.Id, type);
            return;
        }

        var to = m.To!;
        if (_sessions.TryGetValue(to, out var target))
        {
            var shared = Registry.SharedSwarm(session.PeerId, to, m.Swarm);
            if (shared is not null)
            {
                ServerMessages.TrySendRelay(target.Socket, m, session.PeerId, shared, SignalingCloseCodes.SlowConsumer);
                AfterRelaySendForTests?.Invoke(target);
                if (!AddContacts(session, target, shared))
                {
                    // The target departed, or left this swarm, after it was looked up, and its peer-left went out before
                    // the sender was its contact: the sender is told here instead (once: see AddContacts).
                    session.Socket.TrySend(ServerMessages.PeerLeft(to, shared), SignalingCloseCodes.SlowConsumer);
                }

                _metrics.Relayed(Endpoint, type);
                return;
            }
        }
        else if (_cluster is not null)
        {
            IEnumerable<string> swarms = m.Swarm is null ? Registry.SwarmsOf(session.PeerId)
                : Registry.Get(m.Swarm, session.PeerId) is null ? [] : [m.Swarm];
            foreach (var swarm in swarms)
            {
                var node = await _cluster.NodeOfAsync(swarm, to).ConfigureAwait(false);
                if (node is not null)
                {
                    await _cluster.PublishRelayAsync(node, to, ServerMessages.Relay(m, session.PeerId, swarm)).ConfigureAwait(false);
                    AddContact(session, to);
                    _metrics.Relayed(Endpoint, type);
                    return;
                }
            }
        }

        _metrics.Rejected(Endpoint, SignalingErrorCodes.NotInSwarm);
        Error(session, SignalingErrorCodes.NotInSwarm, "the target is not in a swarm you share with it", m.Id, type);
    }

    /// <summary>A relay from another node for one of this node's peers.</summary>
    public void DeliverRelay(string targetPeer, ReadOnlyMemory<byte> payload)
    {
        if (_sessions.TryGetValue(targetPeer, out var target))
        {
            target.Socket.TrySend(payload, SignalingCloseCodes.SlowConsumer);
            var from = RelaySource(payload.Span);
            if (from is not null)
            {
                AddContact(target, from);
            }
        }
    }

    /// <summary>A peer left a swarm (here or on another node): tell this node's peers that signaled with it.</summary>
    public void PeerGone(string peerId, string swarm)
    {
        SignalingSession[] watchers;
        lock (_contactLock)
        {
            if (!_watchers.TryGetValue(peerId, out var set))
            {
                return;
            }

            watchers = [.. set];
        }

        var message = ServerMessages.PeerLeft(peerId, swarm);
        foreach (var w in watchers)
        {
            if (Registry.Get(swarm, w.PeerId) is not null)
            {
                w.Socket.TrySend(message, SignalingCloseCodes.SlowConsumer);
            }
        }
    }

    private async Task DepartAsync(SignalingSession session)
    {
        lock (_contactLock)
        {
            // From here on no relay makes a new contact of it (AddContactLocked); the peer-left below reaches every earlier one.
            session.Departed = true;
        }

        foreach (var swarm in Registry.RemovePeer(session.PeerId))
        {
            await SwarmLeftAsync(session.PeerId, swarm).ConfigureAwait(false);
        }

        lock (_contactLock)
        {
            foreach (var contact in session.Contacts ?? [])
            {
                if (_watchers.TryGetValue(contact, out var set) && set.Remove(session) && set.Count == 0)
                {
                    _watchers.Remove(contact);
                }
            }

            session.Contacts = null;
        }
    }

    private async Task SwarmLeftAsync(string peerId, string swarm)
    {
        PeerGone(peerId, swarm);
        if (_cluster is not null)
        {
            try
            {
                await _cluster.LeaveAsync(swarm, peerId).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The entry expires with the cluster TTL anyway.
                LogClusterLeaveFailed(_logger, e);
            }
        }
    }

    private void AddContact(SignalingSession session, string other)
    {
        lock (_contactLock)
        {
            AddContactLocked(session, other);
        }
    }

    /// <summary>
    /// Makes two local sessions contacts of each other after a relay in <paramref name="swarm"/>. False (and nothing
    /// changed) when the target has departed or left that swarm and the sender, not yet its watcher, must be told by
    /// the caller. A departure or leave takes the peer out of the registry before <see cref="PeerGone"/> reads its
    /// watchers under this lock, so the sender hears of it once: from that read if it was or became a watcher
    /// before it, from the caller if this check saw the leave first.
    /// </summary>
    private bool AddContacts(SignalingSession session, SignalingSession target, string swarm)
    {
        lock (_contactLock)
        {
            if (target.Departed || Registry.Get(swarm, target.PeerId) is null)
            {
                return _watchers.TryGetValue(target.PeerId, out var watchers) && watchers.Contains(session);
            }

            AddContactLocked(session, target.PeerId);
            AddContactLocked(target, session.PeerId);
            return true;
        }
    }

    private void AddContactLocked(SignalingSession session, string other)
    {
        // A departed session has had its contacts cleared (DepartAsync) and is never a watcher again: a relay that
        // reaches it late (here or from another node) would otherwise leave it in _watchers for good.
        if (session.Departed)
        {
            return;
        }

        var contacts = session.Contacts ??= new HashSet<string>(StringComparer.Ordinal);
        if (contacts.Count >= SignalingSession.MaxContacts || !contacts.Add(other))
        {
            return;
        }

        if (!_watchers.TryGetValue(other, out var set))
        {
            _watchers[other] = set = [];
        }

        set.Add(session);
    }

    private static string? RelaySource(ReadOnlySpan<byte> json)
    {
        var reader = new System.Text.Json.Utf8JsonReader(json);
        while (reader.Read())
        {
            if (reader.TokenType == System.Text.Json.JsonTokenType.PropertyName && reader.ValueTextEquals("from"u8) && reader.Read())
            {
                return reader.GetString();
            }
        }

        return null;
    }

    private byte[] Welcome(SignalingSession session, bool resumed) => ServerMessages.Write(w =>
    {
        w.WriteString("type", "welcome");
        w.WriteNumber("v", SignalingProtocol.Version);
        w.WriteString("peer_id", session.PeerId);
        w.WriteString("resume_token", ResumeTokens.Issue(session.PeerId));
        w.WriteBoolean("resumed", resumed);
        w.WriteString("auth", _options.Signaling.TokenSecret.Length > 0 ? "token" : "none");
        w.WriteNumber("heartbeat_interval", (long)_limits.HeartbeatInterval.TotalMilliseconds);
        w.WriteNumber("idle_timeout", (long)_limits.IdleTimeout.TotalMilliseconds);
        w.WriteNumber("max_message_size", _limits.MaxMessageSize);
        w.WriteNumber("max_peers", Math.Min(_options.P2P.MaxPeers, SignalingProtocol.MaxWant));
        ServerMessages.WriteIceServers(w, IceServers.For(session.PeerId));
        w.WriteNumber("ice_ttl", (long)IceServers.Ttl.TotalSeconds);
    });

    private void Error(SignalingSession session, string code, string text, long? id, string? refType = null)
    {
        _metrics.Rejected(Endpoint, code);
        Send(session, ServerMessages.Error(code, text, id, refType));
        if (!session.Errors.TryTake(_time.GetElapsedTime(0)))
        {
            session.Socket.Close(SignalingCloseCodes.PolicyViolation, "too many protocol errors");
        }
    }

    private static void Send(SignalingSession session, byte[] message) => session.Socket.TrySend(message, SignalingCloseCodes.SlowConsumer);

    private static void WriteId(System.Text.Json.Utf8JsonWriter w, long? id)
    {
        if (id is { } i)
        {
            w.WriteNumber("id", i);
        }
    }

    private void SweepIdle()
    {
        var now = _time.GetTimestamp();
        foreach (var session in _sessions.Values)
        {
            if (_time.GetElapsedTime(session.LastReceived, now) > _limits.IdleTimeout)
            {
                _metrics.Rejected(Endpoint, "idle-timeout");
                session.Socket.Close(SignalingCloseCodes.IdleTimeout, "idle timeout: no message received");
            }
        }
    }

    /// <summary>Closes every connection (shutdown).</summary>
    public void CloseAll()
    {
        foreach (var session in _sessions.Values)
        {
            session.Socket.Close(SignalingCloseCodes.GoingAway, "server shutting down");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _idleSweep.DisposeAsync().ConfigureAwait(false);
        CloseAll();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Signaling session {PeerId} failed")]
    private static partial void LogSessionFault(ILogger logger, Exception exception, string peerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A signaling request failed in the cluster store")]
    private static partial void LogClusterRequestFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove a departed peer from the cluster; it expires with the TTL")]
    private static partial void LogClusterLeaveFailed(ILogger logger, Exception exception);
}
