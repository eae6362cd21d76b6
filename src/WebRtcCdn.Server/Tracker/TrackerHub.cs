using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Server.Cluster;
using WebRtcCdn.Server.Observability;
using WebRtcCdn.Server.Signaling;

namespace WebRtcCdn.Server.Tracker;

/// <summary>
/// The WebTorrent tracker protocol at /announce, as bittorrent-tracker's WebSocket server speaks it (so WebTorrent
/// and P2P Media Loader work unchanged): announce with SDP offers, each forwarded to one random peer of the
/// swarm; answers relayed by <c>to_peer_id</c>; scrape. Ids are 20-byte binary strings. Differences that make it
/// safer: a peer_id is bound to the socket that first announced it (another address cannot take it over), an
/// answer only reaches a peer of the same swarm, and the same size, rate and queue limits as /signaling apply.
/// With an <see cref="ITrackerCluster"/> (signaling.redis) the swarms, counts and offer targets are those of every
/// node; this hub keeps only its own sockets and hands offers and answers for other nodes' peers to the cluster.
/// </summary>
public sealed partial class TrackerHub : ITrackerClusterHandler
{
    public const string Endpoint = "announce";

    /// <summary>Seconds between announces: 120 s, what bittorrent-tracker tells WebSocket clients.</summary>
    public const int IntervalSeconds = 120;

    /// <summary>Offers forwarded per announce: clients send up to 10 (WebTorrent 5, P2P Media Loader 10); bittorrent-tracker caps at 82.</summary>
    public const int MaxOffers = 20;

    /// <summary>
    /// (info_hash, peer_id) pairs one socket may hold: a WebTorrent process shares one socket among all its torrents,
    /// so this is larger than signaling.limits.swarms_per_peer; 256 still bounds what one socket costs.
    /// </summary>
    public const int MaxAnnouncedPerSocket = 256;

    /// <summary>info_hashes in one scrape.</summary>
    public const int MaxScrape = 64;

    private const int ErrorBurst = 10;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 8 };

    private readonly Lock _lock = new();
    private readonly Dictionary<string, TrackerSwarm> _swarms = new(StringComparer.Ordinal);
    private readonly HashSet<TrackerSession> _live = [];
    private readonly SignalingLimitsOptions _limits;
    private readonly TimeProvider _time;
    private readonly SignalingMetrics _metrics;
    private readonly ILogger<TrackerHub> _logger;
    private readonly TransferStats _transfers;
    private readonly ITrackerCluster? _cluster;
    private int _sessions;

    public TrackerHub(WebRtcCdnOptions options, TimeProvider time, SignalingMetrics metrics, TransferStats transfers, ILogger<TrackerHub> logger, ITrackerCluster? cluster = null)
    {
        _cluster = cluster;
        _transfers = transfers;
        _limits = options.Signaling.Limits;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        metrics.Gauge("webrtc_cdn_tracker_peers", "Connected /announce sockets on this node", () => [new Measurement<long>(Volatile.Read(ref _sessions))]);
        metrics.Gauge("webrtc_cdn_tracker_swarms", "info_hashes with at least one peer", () => [new Measurement<long>(SwarmCount)]);
    }

    public ITrackerCluster? Cluster => _cluster;

    /// <summary>Connects the cluster (when Redis is configured) and starts its heartbeat over this node's peers.</summary>
    public Task StartAsync(CancellationToken cancellationToken) =>
        _cluster?.StartAsync(this, LocalMembers, cancellationToken) ?? Task.CompletedTask;

    public int SessionCount => Volatile.Read(ref _sessions);

    public int SwarmCount
    {
        get
        {
            lock (_lock)
            {
                return _swarms.Count;
            }
        }
    }

    /// <summary>Peers over all swarms (a peer in two swarms counts twice).</summary>
    public (int Complete, int Incomplete) Totals()
    {
        lock (_lock)
        {
            int c = 0, i = 0;
            foreach (var s in _swarms.Values)
            {
                c += s.Complete;
                i += s.Incomplete;
            }

            return (c, i);
        }
    }

    /// <summary>Closes every connection (shutdown).</summary>
    public void CloseAll()
    {
        List<TrackerSession> sessions;
        lock (_lock)
        {
            sessions = [.. _live];
        }

        foreach (var s in sessions)
        {
            s.Socket.Close(1001, "server shutting down");
        }
    }

    public async Task RunSessionAsync(MessageSocket socket, IPAddress? address)
    {
        var now = _time.GetElapsedTime(0);
        var session = new TrackerSession(socket, address, new TokenBucket(_limits.MessageRate, _limits.MessageBurst, now), new TokenBucket(1, ErrorBurst, now));
        Interlocked.Increment(ref _sessions);
        lock (_lock)
        {
            _live.Add(session);
        }

        _metrics.ConnectionOpened(Endpoint);
        var sendLoop = socket.RunSendLoopAsync();
        try
        {
            while (true)
            {
                var (status, buffer, length) = await socket.ReceiveAsync().ConfigureAwait(false);
                if (status == ReceiveStatus.Closed)
                {
                    break;
                }

                if (status == ReceiveStatus.TooLarge)
                {
                    _metrics.Rejected(Endpoint, "message-too-large");
                    socket.Close(1009, $"message larger than {_limits.MaxMessageSize} bytes");
                    break;
                }

                _metrics.MessageReceived(Endpoint);
                try
                {
                    if (status == ReceiveStatus.Binary)
                    {
                        Failure(session, null, null, "messages are JSON text frames");
                    }
                    else if (!session.Messages.TryTake(_time.GetElapsedTime(0)))
                    {
                        Failure(session, null, null, "rate limited: too many messages");
                    }
                    else
                    {
                        try
                        {
                            await HandleAsync(session, buffer.AsMemory(0, length)).ConfigureAwait(false);
                        }
                        catch (Exception e) when (_cluster is not null && e is not OperationCanceledException)
                        {
                            // Redis unreachable or failing: this request fails, the connection and the node stay up.
                            LogClusterRequestFailed(_logger, e);
                            Failure(session, null, null, "the cluster store is unavailable; retry later");
                        }
                    }
                }
                finally
                {
                    MessageSocket.Return(buffer);
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogSessionFault(_logger, e);
        }
        finally
        {
            // Leave the swarms before the close frame goes out: once a client saw its close complete, it is gone.
            await DepartAsync(session).ConfigureAwait(false);
            lock (_lock)
            {
                _live.Remove(session);
            }

            socket.Close(1000, "bye");
            Interlocked.Decrement(ref _sessions);
            await sendLoop.ConfigureAwait(false);
        }
    }

    private async Task HandleAsync(TrackerSession session, ReadOnlyMemory<byte> utf8)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(utf8, DocumentOptions);
        }
        catch (JsonException)
        {
            Failure(session, null, null, "invalid JSON");
            return;
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                Failure(session, null, null, "a message is a JSON object");
                return;
            }

            var action = root.TryGetProperty("action", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
            switch (action)
            {
                case "announce": await AnnounceAsync(session, root).ConfigureAwait(false); break;
                case "scrape": await ScrapeAsync(session, root).ConfigureAwait(false); break;
                default: Failure(session, null, null, $"invalid action in WS request: {action ?? "(none)"}"); break;
            }
        }
    }

    private async Task AnnounceAsync(TrackerSession session, JsonElement root)
    {
        var infoHash = BinaryId(root, "info_hash");
        if (infoHash is null)
        {
            Failure(session, "announce", null, "invalid info_hash");
            return;
        }

        var peerId = BinaryId(root, "peer_id");
        if (peerId is null)
        {
            Failure(session, "announce", infoHash, "invalid peer_id");
            return;
        }

        if (root.TryGetProperty("answer", out var answer))
        {
            await AnswerAsync(session, root, infoHash, peerId, answer).ConfigureAwait(false);
            return;
        }

        var ev = root.TryGetProperty("event", out var e) && e.ValueKind == JsonValueKind.String ? EventName(e) : "update";
        if (ev is null)
        {
            Failure(session, "announce", infoHash, "invalid event");
            return;
        }

        var left = root.TryGetProperty("left", out var l) && l.ValueKind == JsonValueKind.Number && l.TryGetDouble(out var leftValue) ? leftValue : double.PositiveInfinity;
        var complete = ev == "completed" || left == 0;

        // Every offer is checked before anything changes. The number of offers, not numwant, is how many peers
        // receive one (bittorrent-tracker does the same for WebSocket clients), so numwant needs no cap of its own.
        var offers = new List<(JsonElement Sdp, string OfferId)>(0);
        if (root.TryGetProperty("offers", out var offersElement) && offersElement.ValueKind == JsonValueKind.Array)
        {
            if (offersElement.GetArrayLength() > MaxOffers)
            {
                Failure(session, "announce", infoHash, $"at most {MaxOffers} offers per announce");
                return;
            }

            foreach (var offer in offersElement.EnumerateArray())
            {
                if (offer.ValueKind != JsonValueKind.Object || !offer.TryGetProperty("offer", out var sdp) || sdp.ValueKind != JsonValueKind.Object
                    || BinaryId(offer, "offer_id") is not { } offerId)
                {
                    Failure(session, "announce", infoHash, "invalid offer: expected {offer: {type, sdp}, offer_id: 20-byte string}");
                    return;
                }

                offers.Add((sdp, offerId));
            }
        }

        TrackerPeer? added = null;
        var removed = false;
        List<TrackerPeer> localTargets;
        int completeCount, incompleteCount;
        lock (_lock)
        {
            if (!_swarms.TryGetValue(infoHash, out var swarm))
            {
                swarm = new TrackerSwarm();
            }

            var peer = swarm.Get(peerId);
            if (peer is not null && peer.Session != session)
            {
                if (!Equals(peer.Session.Address, session.Address))
                {
                    // A peer_id is the client's choice in this protocol; binding it to its first address stops another host from taking it over.
                    _metrics.Rejected(Endpoint, "peer-id-taken");
                    Failure(session, "announce", infoHash, "peer_id is in use by another connection");
                    return;
                }

                // The same host reconnected: the new socket takes over.
                peer.Session.Announced.Remove((infoHash, peerId));
                peer.Session = session;
                session.Announced.Add((infoHash, peerId));
            }

            if (ev == "stopped")
            {
                if (peer is not null && swarm.Remove(peerId))
                {
                    removed = true;
                    session.Announced.Remove((infoHash, peerId));
                    if (swarm.Count == 0)
                    {
                        _swarms.Remove(infoHash);
                    }
                }

                localTargets = [];
            }
            else
            {
                if (peer is null)
                {
                    if (session.Announced.Count >= MaxAnnouncedPerSocket)
                    {
                        Failure(session, "announce", infoHash, $"a connection may announce at most {MaxAnnouncedPerSocket} (info_hash, peer_id) pairs");
                        return;
                    }

                    if (swarm.Count >= _limits.PeersPerSwarm)
                    {
                        _metrics.Rejected(Endpoint, "swarm-full");
                        Failure(session, "announce", infoHash, "swarm full");
                        return;
                    }

                    peer = added = new TrackerPeer(peerId, session);
                    swarm.Add(peer);
                    _swarms[infoHash] = swarm;
                    session.Announced.Add((infoHash, peerId));
                    _metrics.Joined(Endpoint);
                }

                swarm.SetComplete(peer, complete);
                if (root.TryGetProperty("uploaded", out var up) && up.ValueKind == JsonValueKind.Number && up.TryGetInt64(out var uploaded) && uploaded >= 0)
                {
                    _transfers.Report(ref peer.ReportedUploaded, uploaded, ref peer.ReportedChunks, 0);
                }

                localTargets = _cluster is null && offers.Count > 0 ? swarm.Random(offers.Count, peerId, Random.Shared) : [];
            }

            completeCount = swarm.Complete;
            incompleteCount = swarm.Incomplete;
        }

        List<TrackerClusterPeer> clusterTargets = [];
        if (_cluster is not null)
        {
            if (ev == "stopped")
            {
                if (removed)
                {
                    await _cluster.LeaveAsync(infoHash, peerId).ConfigureAwait(false);
                }

                (completeCount, incompleteCount) = (await _cluster.CountsAsync([infoHash]).ConfigureAwait(false))[0];
            }
            else
            {
                var shared = await _cluster.AnnounceAsync(infoHash, peerId, complete, offers.Count).ConfigureAwait(false);
                if (shared.Taken)
                {
                    if (added is not null)
                    {
                        RemoveLocal(session, infoHash, added);
                    }

                    // The same rule as on one node, across nodes: a live peer_id stays with its socket until it leaves or expires.
                    _metrics.Rejected(Endpoint, "peer-id-taken");
                    Failure(session, "announce", infoHash, "peer_id is in use by another connection");
                    return;
                }

                (completeCount, incompleteCount, clusterTargets) = (shared.Complete, shared.Incomplete, shared.Peers);
            }
        }

        // Written into the reused per-thread buffer: every announce gets this reply (see ServerMessages.TrySendWritten).
        ServerMessages.TrySendWritten(session.Socket, (infoHash, completeCount, incompleteCount), static (w, s) =>
        {
            w.WriteString("action"u8, "announce"u8);
            w.WriteNumber("interval"u8, IntervalSeconds);
            w.WriteString("info_hash"u8, s.infoHash);
            w.WriteNumber("complete"u8, s.completeCount);
            w.WriteNumber("incomplete"u8, s.incompleteCount);
        }, 4001);

        for (var i = 0; i < localTargets.Count; i++)
        {
            ServerMessages.TrySendWritten(localTargets[i].Session.Socket, (Offer: offers[i], peerId, infoHash), static (w, s) => WriteOffer(w, s.Offer, s.peerId, s.infoHash), 4001);
            _metrics.Relayed(Endpoint, "offer");
        }

        for (var i = 0; i < clusterTargets.Count; i++)
        {
            var (target, node) = clusterTargets[i];
            var message = OfferMessage(offers[i], peerId, infoHash);
            if (node == _cluster!.NodeId)
            {
                Deliver(infoHash, target, message);
            }
            else
            {
                await _cluster.PublishAsync(node, infoHash, target, message).ConfigureAwait(false);
            }

            _metrics.Relayed(Endpoint, "offer");
        }
    }

    private static byte[] OfferMessage((JsonElement Sdp, string OfferId) offer, string peerId, string infoHash) => Write(w => WriteOffer(w, offer, peerId, infoHash));

    private static void WriteOffer(Utf8JsonWriter w, (JsonElement Sdp, string OfferId) offer, string peerId, string infoHash)
    {
        w.WriteString("action", "announce");
        w.WritePropertyName("offer");
        offer.Sdp.WriteTo(w);
        w.WriteString("offer_id", offer.OfferId);
        w.WriteString("peer_id", peerId);
        w.WriteString("info_hash", infoHash);
    }

    private async Task AnswerAsync(TrackerSession session, JsonElement root, string infoHash, string peerId, JsonElement answer)
    {
        var to = BinaryId(root, "to_peer_id");
        var offerId = BinaryId(root, "offer_id");
        if (to is null || offerId is null || answer.ValueKind != JsonValueKind.Object)
        {
            Failure(session, "announce", infoHash, "invalid answer: needs answer {type, sdp}, to_peer_id and offer_id (20-byte strings)");
            return;
        }

        bool announced;
        TrackerSession? target;
        lock (_lock)
        {
            // Only a peer that announced this info_hash on this very socket may answer, and only to a peer of the same swarm.
            announced = session.Announced.Contains((infoHash, peerId));
            target = announced && _swarms.TryGetValue(infoHash, out var swarm) && swarm.Get(to) is { } peer ? peer.Session : null;
        }

        var message = Write(w =>
        {
            w.WriteString("action", "announce");
            w.WritePropertyName("answer");
            answer.WriteTo(w);
            w.WriteString("offer_id", offerId);
            w.WriteString("peer_id", peerId);
            w.WriteString("info_hash", infoHash);
        });
        if (target is not null)
        {
            target.Socket.TrySend(message, 4001);
            _metrics.Relayed(Endpoint, "answer");
            return;
        }

        if (announced && _cluster is not null && await _cluster.NodeOfAsync(infoHash, to).ConfigureAwait(false) is { } node && node != _cluster.NodeId)
        {
            await _cluster.PublishAsync(node, infoHash, to, message).ConfigureAwait(false);
            _metrics.Relayed(Endpoint, "answer");
            return;
        }

        _metrics.Rejected(Endpoint, "not-in-swarm");
        Failure(session, "announce", infoHash, "answer to a peer that is not in your swarm");
    }

    private async Task ScrapeAsync(TrackerSession session, JsonElement root)
    {
        var hashes = new List<string>();
        if (root.TryGetProperty("info_hash", out var ih) && ih.ValueKind == JsonValueKind.Array)
        {
            if (ih.GetArrayLength() > MaxScrape)
            {
                Failure(session, "scrape", null, $"at most {MaxScrape} info_hashes per scrape");
                return;
            }

            foreach (var item in ih.EnumerateArray())
            {
                if (BinaryString(item) is not { } h)
                {
                    Failure(session, "scrape", null, "invalid info_hash");
                    return;
                }

                hashes.Add(h);
            }
        }
        else if (BinaryId(root, "info_hash") is { } single)
        {
            hashes.Add(single);
        }
        else
        {
            // bittorrent-tracker would list every swarm; enumerating what others watch is refused here.
            Failure(session, "scrape", null, "scrape needs info_hash (a 20-byte string or a list of them)");
            return;
        }

        (int Complete, int Incomplete)[] counts;
        if (_cluster is not null)
        {
            counts = await _cluster.CountsAsync(hashes).ConfigureAwait(false);
        }
        else
        {
            lock (_lock)
            {
                counts = [.. hashes.Select(h => _swarms.TryGetValue(h, out var s) ? (s.Complete, s.Incomplete) : (0, 0))];
            }
        }

        Send(session, Write(w =>
        {
            w.WriteString("action", "scrape");
            w.WriteStartObject("files");
            for (var i = 0; i < hashes.Count; i++)
            {
                w.WriteStartObject(hashes[i]);
                w.WriteNumber("complete", counts[i].Complete);
                w.WriteNumber("incomplete", counts[i].Incomplete);
                w.WriteNumber("downloaded", counts[i].Complete);
                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteStartObject("flags");
            w.WriteNumber("min_request_interval", IntervalSeconds);
            w.WriteEndObject();
        }));
    }

    /// <summary>A message from another node (or this one) for one of this node's (info_hash, peer_id) pairs.</summary>
    public void Deliver(string infoHash, string peerId, ReadOnlyMemory<byte> payload)
    {
        TrackerSession? target;
        lock (_lock)
        {
            target = _swarms.TryGetValue(infoHash, out var swarm) ? swarm.Get(peerId)?.Session : null;
        }

        target?.Socket.TrySend(payload, 4001);
    }

    private void RemoveLocal(TrackerSession session, string infoHash, TrackerPeer peer)
    {
        lock (_lock)
        {
            if (_swarms.TryGetValue(infoHash, out var swarm) && swarm.Get(peer.PeerId) == peer && swarm.Remove(peer.PeerId))
            {
                session.Announced.Remove((infoHash, peer.PeerId));
                if (swarm.Count == 0)
                {
                    _swarms.Remove(infoHash);
                }
            }
        }
    }

    private List<TrackerClusterMember> LocalMembers()
    {
        lock (_lock)
        {
            var result = new List<TrackerClusterMember>();
            foreach (var (infoHash, swarm) in _swarms)
            {
                foreach (var peer in swarm.Peers)
                {
                    result.Add(new TrackerClusterMember(infoHash, peer.PeerId, peer.Complete));
                }
            }

            return result;
        }
    }

    private async Task DepartAsync(TrackerSession session)
    {
        var left = new List<(string InfoHash, string PeerId)>();
        lock (_lock)
        {
            foreach (var (infoHash, peerId) in session.Announced)
            {
                if (_swarms.TryGetValue(infoHash, out var swarm) && swarm.Get(peerId)?.Session == session)
                {
                    swarm.Remove(peerId);
                    left.Add((infoHash, peerId));
                    if (swarm.Count == 0)
                    {
                        _swarms.Remove(infoHash);
                    }
                }
            }

            session.Announced.Clear();
        }

        if (_cluster is null)
        {
            return;
        }

        // All at once (pipelined): with Redis down, a socket of 256 pairs waits one command timeout, not 256.
        await Task.WhenAll(left.Select(pair => LeaveClusterAsync(pair.InfoHash, pair.PeerId))).ConfigureAwait(false);
    }

    private async Task LeaveClusterAsync(string infoHash, string peerId)
    {
        try
        {
            await _cluster!.LeaveAsync(infoHash, peerId).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The entry expires with the cluster TTL anyway.
            LogClusterLeaveFailed(_logger, e);
        }
    }

    private void Failure(TrackerSession session, string? action, string? infoHash, string reason)
    {
        _metrics.Rejected(Endpoint, "failure");
        Send(session, Write(w =>
        {
            if (action is not null)
            {
                w.WriteString("action", action);
            }

            w.WriteString("failure reason", reason);
            if (infoHash is not null)
            {
                w.WriteString("info_hash", infoHash);
            }
        }));
        if (!session.Errors.TryTake(_time.GetElapsedTime(0)))
        {
            session.Socket.Close(1008, "too many invalid messages");
        }
    }

    private static void Send(TrackerSession session, byte[] message) => session.Socket.TrySend(message, 4001);

    private static byte[] Write(Action<Utf8JsonWriter> body) => ServerMessages.Write(body);

    private static readonly string[] Events = ["started", "update", "completed", "stopped", "paused", "empty"];

    /// <summary>The event as one of the known (interned) names, compared in place; null when it is none of them.</summary>
    private static string? EventName(JsonElement e)
    {
        foreach (var name in Events)
        {
            if (e.ValueEquals(name))
            {
                return name;
            }
        }

        return null;
    }

    /// <summary>A 20-byte id as the clients send it: a JSON string of 20 characters U+0000..U+00FF.</summary>
    private static string? BinaryId(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var e) ? BinaryString(e) : null;

    private static string? BinaryString(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        var s = e.GetString()!;
        return s.Length == 20 && s.All(c => c <= '\u00FF') ? s : null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A tracker request failed in the cluster store")]
    private static partial void LogClusterRequestFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove a departed tracker peer from the cluster; it expires with the TTL")]
    private static partial void LogClusterLeaveFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tracker session failed")]
    private static partial void LogSessionFault(ILogger logger, Exception exception);
}
