using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Server.Observability;
using WebRtcCdn.Server.Signaling;

namespace WebRtcCdn.Server.Tracker;

/// <summary>
/// The WebTorrent tracker protocol at /announce, as bittorrent-tracker's WebSocket server speaks it (so WebTorrent
/// and P2P Media Loader work unchanged): announce with SDP offers, each forwarded to one random peer of the
/// swarm; answers relayed by <c>to_peer_id</c>; scrape. Ids are 20-byte binary strings. Differences that make it
/// safer: a peer_id is bound to the socket that first announced it (another address cannot take it over), an
/// answer only reaches a peer of the same swarm, and the same size, rate and queue limits as /signaling apply.
/// </summary>
public sealed partial class TrackerHub
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
    private int _sessions;

    public TrackerHub(WebRtcCdnOptions options, TimeProvider time, SignalingMetrics metrics, TransferStats transfers, ILogger<TrackerHub> logger)
    {
        _transfers = transfers;
        _limits = options.Signaling.Limits;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        metrics.Gauge("webrtc_cdn_tracker_peers", "Connected /announce sockets on this node", () => [new Measurement<long>(Volatile.Read(ref _sessions))]);
        metrics.Gauge("webrtc_cdn_tracker_swarms", "info_hashes with at least one peer", () => [new Measurement<long>(SwarmCount)]);
    }

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
                        Handle(session, buffer.AsMemory(0, length));
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
            Depart(session);
            lock (_lock)
            {
                _live.Remove(session);
            }

            socket.Close(1000, "bye");
            Interlocked.Decrement(ref _sessions);
            await sendLoop.ConfigureAwait(false);
        }
    }

    private void Handle(TrackerSession session, ReadOnlyMemory<byte> utf8)
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
                case "announce": Announce(session, root); break;
                case "scrape": Scrape(session, root); break;
                default: Failure(session, null, null, $"invalid action in WS request: {action ?? "(none)"}"); break;
            }
        }
    }

    private void Announce(TrackerSession session, JsonElement root)
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
            Answer(session, root, infoHash, peerId, answer);
            return;
        }

        var ev = root.TryGetProperty("event", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : "update";
        if (ev is not ("started" or "update" or "completed" or "stopped" or "paused" or "empty"))
        {
            Failure(session, "announce", infoHash, "invalid event");
            return;
        }

        var left = root.TryGetProperty("left", out var l) && l.ValueKind == JsonValueKind.Number && l.TryGetDouble(out var leftValue) ? leftValue : double.PositiveInfinity;
        JsonElement offers = default;
        var hasOffers = root.TryGetProperty("offers", out offers) && offers.ValueKind == JsonValueKind.Array;
        if (hasOffers && offers.GetArrayLength() > MaxOffers)
        {
            Failure(session, "announce", infoHash, $"at most {MaxOffers} offers per announce");
            return;
        }

        List<TrackerPeer> targets;
        int complete, incomplete;
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
                    session.Announced.Remove((infoHash, peerId));
                    if (swarm.Count == 0)
                    {
                        _swarms.Remove(infoHash);
                    }
                }

                targets = [];
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

                    peer = new TrackerPeer(peerId, session);
                    swarm.Add(peer);
                    _swarms[infoHash] = swarm;
                    session.Announced.Add((infoHash, peerId));
                    _metrics.Joined(Endpoint);
                }

                swarm.SetComplete(peer, ev == "completed" || left == 0);
                if (root.TryGetProperty("uploaded", out var up) && up.ValueKind == JsonValueKind.Number && up.TryGetInt64(out var uploaded) && uploaded >= 0)
                {
                    _transfers.Report(ref peer.ReportedUploaded, uploaded, ref peer.ReportedChunks, 0);
                }

                targets = hasOffers ? swarm.Random(offers.GetArrayLength(), peerId, Random.Shared) : [];
            }

            complete = swarm.Complete;
            incomplete = swarm.Incomplete;
        }

        Send(session, Write(w =>
        {
            w.WriteString("action", "announce");
            w.WriteNumber("interval", IntervalSeconds);
            w.WriteString("info_hash", infoHash);
            w.WriteNumber("complete", complete);
            w.WriteNumber("incomplete", incomplete);
        }));

        var i = 0;
        foreach (var target in targets)
        {
            var offer = offers[i++];
            if (offer.ValueKind != JsonValueKind.Object || !offer.TryGetProperty("offer", out var sdp) || sdp.ValueKind != JsonValueKind.Object
                || BinaryId(offer, "offer_id") is not { } offerId)
            {
                Failure(session, "announce", infoHash, "invalid offer: expected {offer: {type, sdp}, offer_id: 20-byte string}");
                return;
            }

            target.Session.Socket.TrySend(Write(w =>
            {
                w.WriteString("action", "announce");
                w.WritePropertyName("offer");
                sdp.WriteTo(w);
                w.WriteString("offer_id", offerId);
                w.WriteString("peer_id", peerId);
                w.WriteString("info_hash", infoHash);
            }), 4001);
            _metrics.Relayed(Endpoint, "offer");
        }
    }

    private void Answer(TrackerSession session, JsonElement root, string infoHash, string peerId, JsonElement answer)
    {
        var to = BinaryId(root, "to_peer_id");
        var offerId = BinaryId(root, "offer_id");
        if (to is null || offerId is null || answer.ValueKind != JsonValueKind.Object)
        {
            Failure(session, "announce", infoHash, "invalid answer: needs answer {type, sdp}, to_peer_id and offer_id (20-byte strings)");
            return;
        }

        TrackerSession? target;
        lock (_lock)
        {
            // Only a peer that announced this info_hash on this very socket may answer, and only to a peer of the same swarm.
            target = session.Announced.Contains((infoHash, peerId))
                && _swarms.TryGetValue(infoHash, out var swarm) && swarm.Get(to) is { } peer ? peer.Session : null;
        }

        if (target is null)
        {
            _metrics.Rejected(Endpoint, "not-in-swarm");
            Failure(session, "announce", infoHash, "answer to a peer that is not in your swarm");
            return;
        }

        target.Socket.TrySend(Write(w =>
        {
            w.WriteString("action", "announce");
            w.WritePropertyName("answer");
            answer.WriteTo(w);
            w.WriteString("offer_id", offerId);
            w.WriteString("peer_id", peerId);
            w.WriteString("info_hash", infoHash);
        }), 4001);
        _metrics.Relayed(Endpoint, "answer");
    }

    private void Scrape(TrackerSession session, JsonElement root)
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

        Send(session, Write(w =>
        {
            w.WriteString("action", "scrape");
            w.WriteStartObject("files");
            lock (_lock)
            {
                foreach (var h in hashes)
                {
                    _swarms.TryGetValue(h, out var s);
                    w.WriteStartObject(h);
                    w.WriteNumber("complete", s?.Complete ?? 0);
                    w.WriteNumber("incomplete", s?.Incomplete ?? 0);
                    w.WriteNumber("downloaded", s?.Complete ?? 0);
                    w.WriteEndObject();
                }
            }

            w.WriteEndObject();
            w.WriteStartObject("flags");
            w.WriteNumber("min_request_interval", IntervalSeconds);
            w.WriteEndObject();
        }));
    }

    private void Depart(TrackerSession session)
    {
        lock (_lock)
        {
            foreach (var (infoHash, peerId) in session.Announced)
            {
                if (_swarms.TryGetValue(infoHash, out var swarm) && swarm.Get(peerId)?.Session == session)
                {
                    swarm.Remove(peerId);
                    if (swarm.Count == 0)
                    {
                        _swarms.Remove(infoHash);
                    }
                }
            }

            session.Announced.Clear();
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tracker session failed")]
    private static partial void LogSessionFault(ILogger logger, Exception exception);
}
