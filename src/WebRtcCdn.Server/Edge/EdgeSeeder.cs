using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Rtc.Net;
using WebRtcCdn.Rtc.PeerConnection;
using WebRtcCdn.Rtc.Sdp;
using WebRtcCdn.Server.Origin;

namespace WebRtcCdn.Server.Edge;

/// <summary>
/// The edge seeder: the server as a WebRTC peer. Every connection is ICE-lite on ONE shared UDP port
/// (<see cref="UdpMux"/>), answers a browser's (or any WebRTC peer's) offer, and serves the content's chunks
/// from the chunk store on the offerer's <c>cdn</c> data channel with the wire protocol (<see cref="PeerSession"/>).
/// Limits: <c>edge.max_peers</c> connections, per-peer concurrent transfers, upload token bucket, idle drop.
/// </summary>
public sealed class EdgeSeeder : IAsyncDisposable
{
    /// <summary>The data channel label that carries the wire protocol (docs/PROTOCOL.md section 5).</summary>
    public const string ChannelLabel = "cdn";

    /// <summary>A connection whose channel is not open this long after the answer is dropped (ICE + DTLS + SCTP take well under a second on a LAN; 30 s allows for slow consent).</summary>
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);

    private readonly EdgeOptions _options;
    private readonly OriginContent _content;
    private readonly ILogger<EdgeSeeder> _logger;
    private readonly TimeProvider _time;
    private readonly PullThrough? _pull;
    private readonly EdgePeerPull _peerPull;
    private readonly ConcurrentDictionary<string, EdgeConnection> _connections = new();
    private readonly PeerMemoryLedger _ledger = new();
    private readonly Lock _muxLock = new();
    private UdpMux? _mux;
    private long _accepted;
    private long _uploadedByEnded;
    private int _livePeerConnections;

    /// <param name="time">Drives the sessions' idle and ping timers and the connect timeout (tests pass a fake clock); the RTC stack keeps real time.</param>
    public EdgeSeeder(WebRtcCdnOptions options, OriginContent content, ILogger<EdgeSeeder> logger, TimeProvider? time = null, PullThrough? pull = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Edge;
        _content = content;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _pull = pull;
        _peerPull = new EdgePeerPull(content, logger, _time);
    }

    public bool Enabled => _options.Enabled;

    public int MaxOfferSize => _options.MaxOfferSize;

    public int Connections => _connections.Count;

    /// <summary>Raised after a connection was removed (argument: the connections left).</summary>
    public event Action<int>? ConnectionRemoved;

    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>
    /// What the edge holds for its peers, from its own accounting (not GC figures): with no peers every field is zero,
    /// so a leak on any teardown path (a session or connection never disposed, a mux route left behind, frames or
    /// chunk references kept) shows here.
    /// </summary>
    public EdgeUsage Usage => new(
        _connections.Count,
        _ledger.LiveSessions,
        Volatile.Read(ref _livePeerConnections),
        _mux?.Connections ?? 0,
        _ledger.BufferedBytes);

    /// <summary>Chunks the edge lacked, pulled from its other peers (verified, stored).</summary>
    public long ChunksPulledFromPeers => _peerPull.ChunksPulled;

    /// <summary>Peers disconnected for sending a chunk that did not match the manifest.</summary>
    public long PeersDisconnectedForBadChunks => _peerPull.PeersDisconnectedForBadChunks;

    /// <summary>
    /// Chunk bytes uploaded over data channels since start: ended sessions' and the live ones' (server egress as much
    /// as the origin's HTTP bodies: the swarm bench reports both).
    /// </summary>
    public long BytesUploaded => Interlocked.Read(ref _uploadedByEnded) + _connections.Values.Sum(c => c.Session?.BytesUploaded ?? 0);

    /// <summary>The bound UDP endpoint (binds on first use).</summary>
    public IPEndPoint LocalEndPoint => Mux().LocalEndPoint;

    /// <summary>Answers an SDP offer; throws <see cref="EdgeOfferException"/> for offers it refuses.</summary>
    public async Task<(string Id, string AnswerSdp)> AnswerAsync(ContentId contentId, string offerSdp, CancellationToken cancellationToken)
    {
        var manifest = _content.GetManifest(contentId)
            ?? throw new EdgeOfferException(404, "unknown_content", $"content {contentId} is not stored here");
        if (_connections.Count >= _options.MaxPeers)
        {
            throw new EdgeOfferException(503, "edge_full", $"the edge serves {_options.MaxPeers} peers already (edge.max_peers)");
        }

        var publicAddress = _options.PublicAddress.Length > 0 ? IPAddress.Parse(_options.PublicAddress) : null;
        var mux = Mux();
        var bound = mux.LocalEndPoint.Address;
        var announce = publicAddress ?? (bound.Equals(IPAddress.Any) ? IPAddress.Loopback : bound.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : bound);
        var pc = new RtcPeerConnection(new RtcConfiguration { IceLite = true, UdpMux = mux, HostAddresses = [announce] });
        Interlocked.Increment(ref _livePeerConnections);
        var id = Guid.NewGuid().ToString("N");
        var connection = new EdgeConnection(id, pc);
        pc.OnDataChannel += channel =>
        {
            if (channel.Label != ChannelLabel || connection.Session is not null)
            {
                channel.Close(); // one wire-protocol channel per connection; nothing else is spoken here
                return;
            }

            if (channel.ReadyState == RtcDataChannelState.Open)
            {
                StartSession(connection, channel, manifest);
            }
            else
            {
                channel.OnOpen += () => StartSession(connection, channel, manifest);
            }
        };
        pc.OnConnectionStateChange += state =>
        {
            if (state is RtcPeerConnectionState.Failed or RtcPeerConnectionState.Closed or RtcPeerConnectionState.Disconnected)
            {
                _ = RemoveAsync(id, $"connection {state}");
            }
        };

        try
        {
            await pc.SetRemoteDescriptionAsync(new RtcSessionDescription(RtcSdpType.Offer, offerSdp)).WaitAsync(cancellationToken).ConfigureAwait(false);
            await pc.SetLocalDescriptionAsync(await pc.CreateAnswerAsync().ConfigureAwait(false)).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SdpException e)
        {
            await DisposePeerConnectionAsync(pc).ConfigureAwait(false);
            var where = e.LineNumber > 0 ? $"line {e.LineNumber}: " : string.Empty;
            throw new EdgeOfferException(400, "invalid_sdp", $"{where}{e.Reason ?? e.Message}");
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            await DisposePeerConnectionAsync(pc).ConfigureAwait(false);
            throw new EdgeOfferException(400, "invalid_sdp", e.Message);
        }

        _connections[id] = connection;
        Interlocked.Increment(ref _accepted);
        // The timer's state is the id, not the connection: a pending timeout must not keep a closed connection's whole
        // graph (peer connection, session) alive for the rest of the 30 s (found by the edge bench's memory rounds).
        connection.ConnectTimer = _time.CreateTimer(
            static state =>
            {
                var (edge, connectionId) = ((EdgeSeeder, string))state!;
                edge.DropIfNotOpen(connectionId);
            },
            (this, id),
            ConnectTimeout,
            Timeout.InfiniteTimeSpan);
        return (id, pc.LocalDescription!.Sdp);
    }

    /// <summary>Whether the connection still exists.</summary>
    public bool Contains(string id) => _connections.ContainsKey(id);

    /// <summary>
    /// A remote candidate trickled through signaling (null: end-of-candidates). ICE-lite needs none (it learns the
    /// peer's address from its checks), but a usable one does no harm; an unusable one (an mDNS name) is ignored.
    /// </summary>
    public async Task AddCandidateAsync(string id, RtcIceCandidate? candidate)
    {
        if (!_connections.TryGetValue(id, out var connection))
        {
            return;
        }

        try
        {
            await connection.PeerConnection.AddIceCandidateAsync(candidate).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or ObjectDisposedException)
        {
            _logger.LogDebug("edge connection {Id}: candidate ignored: {Reason}", id, e.Message);
        }
    }

    /// <summary>Closes one connection (DELETE of its resource). False when unknown.</summary>
    public async Task<bool> CloseAsync(string id)
    {
        if (!_connections.ContainsKey(id))
        {
            return false;
        }

        await RemoveAsync(id, "closed by the peer (DELETE)").ConfigureAwait(false);
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var id in _connections.Keys)
        {
            await RemoveAsync(id, "server stopping").ConfigureAwait(false);
        }

        if (_mux is not null)
        {
            await _mux.DisposeAsync().ConfigureAwait(false);
        }

        _peerPull.Dispose();
    }

    private UdpMux Mux()
    {
        lock (_muxLock)
        {
            return _mux ??= UdpMux.Bind(new IPEndPoint(IPAddress.Parse(_options.BindAddress), _options.UdpPort));
        }
    }

    private void StartSession(EdgeConnection connection, RtcDataChannel channel, Manifest manifest)
    {
        var options = new PeerSessionOptions
        {
            MaxConcurrentTransfers = _options.MaxConcurrentTransfers,
            UploadBytesPerSecond = _options.UploadBandwidth,
            IdleTimeout = _options.IdleTimeout,
            PingInterval = _options.IdleTimeout / 4,
            Ledger = _ledger,
        };
        PeerSession session;
        lock (connection)
        {
            // The channel can open just as the connection is being removed (connect timeout, ICE failure, DELETE): a
            // session created then would never be disposed.
            if (connection.Session is not null || connection.Removed)
            {
                return;
            }

            var source = new StoreChunkSource(_content, manifest, _pull, _peerPull);
            session = new PeerSession(new RtcDataChannelPeerChannel(channel), manifest, source, options, _time);
            connection.Session = session;
            _peerPull.Register(session, source.Holds);
        }

        _ = Task.Run(async () =>
        {
            await session.StartAsync().ConfigureAwait(false);
            var reason = await session.Closed.ConfigureAwait(false);
            await RemoveAsync(connection.Id, reason).ConfigureAwait(false);
        });
    }

    private void DropIfNotOpen(string id)
    {
        if (_connections.TryGetValue(id, out var connection) && connection.Session is null)
        {
            _ = RemoveAsync(id, "no data channel within the connect timeout");
        }
    }

    private async Task RemoveAsync(string id, string reason)
    {
        if (!_connections.TryRemove(id, out var connection))
        {
            return;
        }

        _logger.LogDebug("edge connection {Id} ended: {Reason}", id, reason);
        PeerSession? session;
        lock (connection)
        {
            connection.Removed = true;
            session = connection.Session;
        }

        connection.ConnectTimer?.Dispose();

        if (session is not null)
        {
            // Counted at once (the egress counter never dips), then topped up with what the session flushed while
            // disposing (PIECEs queued before its close).
            var counted = session.BytesUploaded;
            Interlocked.Add(ref _uploadedByEnded, counted);
            await session.DisposeAsync().ConfigureAwait(false);
            Interlocked.Add(ref _uploadedByEnded, session.BytesUploaded - counted);
        }

        await DisposePeerConnectionAsync(connection.PeerConnection).ConfigureAwait(false);
        ConnectionRemoved?.Invoke(_connections.Count);
    }

    private async Task DisposePeerConnectionAsync(RtcPeerConnection pc)
    {
        try
        {
            await pc.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _livePeerConnections);
        }
    }

    private sealed class EdgeConnection(string id, RtcPeerConnection peerConnection)
    {
        public string Id { get; } = id;

        public RtcPeerConnection PeerConnection { get; } = peerConnection;

        public PeerSession? Session { get; set; }

        /// <summary>Set (under the connection's lock) once removal started: no session may start after it.</summary>
        public bool Removed { get; set; }

        /// <summary>Drops the connection when no channel opened in time; disposed on removal.</summary>
        public ITimer? ConnectTimer { get; set; }
    }
}
