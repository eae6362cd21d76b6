using System.Collections.Concurrent;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Core.Signaling;
using WebRtcCdn.Core.Signaling.Client;
using WebRtcCdn.Rtc.Ice;
using WebRtcCdn.Rtc.PeerConnection;
using WebRtcCdn.Rtc.Sdp;

namespace WebRtcCdn.Core.Swarming;

/// <summary>
/// A native process as a member of one content's swarm, exactly like a browser viewer (clients/browser/src/swarm.ts):
/// it joins through signaling, OFFERS to every candidate the <c>joined</c> reply lists (the joiner offers; peers
/// already in the swarm learn of it from its offer), ANSWERS every offer it receives (glare: the offer from the lower
/// peer id wins), trickles ICE candidates through signaling, and runs the wire protocol on the <c>cdn</c> data
/// channel with a <see cref="PeerSession"/> that serves from <see cref="IChunkSource"/>. Each session that said HELLO
/// is handed out through <see cref="SessionReady"/> (a downloader adds it as a peer).
/// </summary>
public sealed class NativeSwarm : IAsyncDisposable
{
    /// <summary>The data channel label of the wire protocol (docs/PROTOCOL.md section 5), as the browser SDK's.</summary>
    public const string ChannelLabel = "cdn";

    /// <summary>Candidates received before the remote description are kept, up to this many (as the browser SDK).</summary>
    private const int MaxPendingCandidates = 64;

    private readonly NativeSignalingClient _signaling;
    private readonly IChunkSource _source;
    private readonly NativeSwarmOptions _options;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Link> _links = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly ITimer _rejoinTimer;
    private readonly ITimer _haveTimer;
    private IReadOnlyList<IceServer> _iceServers = [];
    private int _linkSeq;
    private int _haveDirty;
    private long _reported = -1;
    private long _uploadedByEnded;
    private bool _started;

    public NativeSwarm(NativeSignalingClient signaling, Manifest manifest, IChunkSource source, NativeSwarmOptions? options = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(signaling);
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(source);
        _signaling = signaling;
        Manifest = manifest;
        _source = source;
        _options = options ?? new NativeSwarmOptions();
        _time = time ?? TimeProvider.System;
        _rejoinTimer = _time.CreateTimer(_ => Rejoin(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _haveTimer = _time.CreateTimer(_ => ReportHave(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public Manifest Manifest { get; }

    public string Swarm => Manifest.Id.ToString();

    /// <summary>Whether this member still looks for peers (a downloader that is not complete); a seeder waits for offers.</summary>
    public Func<bool> WantsPeers { get; set; } = () => true;

    /// <summary>A peer's session is open and its HELLO arrived (raised on a pool thread).</summary>
    public event Action<PeerSession, string>? SessionReady;

    /// <summary>A peer's connection ended or failed (before or after its HELLO); raised once per connection, not for one replaced in glare.</summary>
    public event Action<string>? PeerGone;

    /// <summary>Problems worth a log line (a refused offer, a failed connection); the swarm carries on.</summary>
    public event Action<string>? Problem;

    /// <summary>Peer connections being set up or open.</summary>
    public int Links => _links.Count;

    /// <summary>Whether a connection to this peer is being set up or open.</summary>
    public bool IsLinked(string peerId) => _links.ContainsKey(peerId);

    /// <summary>Open sessions.</summary>
    public IReadOnlyList<PeerSession> Sessions => [.. _links.Values.Select(l => l.Session).OfType<PeerSession>().Where(s => !s.IsClosed)];

    /// <summary>Bytes uploaded to peers since the start (sessions that ended included).</summary>
    public long BytesUploaded => Interlocked.Read(ref _uploadedByEnded) + _links.Values.Sum(l => l.Session?.BytesUploaded ?? 0);

    /// <summary>Joins the swarm and offers to the candidates. Rejoins by itself after a signaling reconnection.</summary>
    public async Task<IReadOnlyList<CandidatePeer>> StartAsync(CancellationToken cancellationToken = default)
    {
        if (!_started)
        {
            _started = true;
            _signaling.MessageReceived += OnMessage;
            _signaling.Welcomed += OnWelcome;
            _rejoinTimer.Change(_options.RejoinInterval, _options.RejoinInterval);
            _haveTimer.Change(_options.HaveInterval, _options.HaveInterval);
        }

        return await JoinAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A chunk was verified: tell every session (HAVE) and, soon, signaling.</summary>
    public void AnnounceHave(int chunkIndex)
    {
        foreach (var session in Sessions)
        {
            session.AnnounceHave(chunkIndex);
        }

        Interlocked.Exchange(ref _haveDirty, 1);
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _signaling.MessageReceived -= OnMessage;
        _signaling.Welcomed -= OnWelcome;
        await _rejoinTimer.DisposeAsync().ConfigureAwait(false);
        await _haveTimer.DisposeAsync().ConfigureAwait(false);
        foreach (var id in _links.Keys)
        {
            if (_links.TryRemove(id, out var link))
            {
                await link.DisposeAsync().ConfigureAwait(false);
            }
        }

        if (_signaling.IsConnected)
        {
            try
            {
                await _signaling.LeaveAsync(Swarm, CancellationToken.None).ConfigureAwait(false);
            }
            catch (SignalingClientException)
            {
                // Leaving is a courtesy: the server drops us from the swarm when the connection closes anyway.
            }
        }

        _stop.Dispose();
    }

    private JoinRequest Summary(bool join)
    {
        var count = Manifest.ChunkCount;
        var bits = new byte[(count + 7) / 8];
        var held = 0;
        for (var i = 0; i < count; i++)
        {
            if (_source.Has(i))
            {
                bits[i >> 3] |= (byte)(0x80 >> (i & 7));
                held++;
            }
        }

        return new JoinRequest
        {
            Swarm = Swarm,
            Token = join ? _options.Token : null,
            Role = _options.Role,
            Chunks = held,
            Total = count,
            Bitfield = bits,
            MaxConnections = _options.MaxPeers,
            Connections = _links.Count,
            Want = join ? _options.MaxPeers : null,
            Uploaded = BytesUploaded,
        };
    }

    private async Task<IReadOnlyList<CandidatePeer>> JoinAsync(CancellationToken cancellationToken)
    {
        var joined = await _signaling.JoinAsync(Summary(join: true), cancellationToken).ConfigureAwait(false);
        _iceServers = await IceServerUrls.ResolveAsync(_signaling.IceServers, cancellationToken).ConfigureAwait(false);
        foreach (var peer in joined.Peers)
        {
            if (_links.Count >= _options.MaxPeers || _stop.IsCancellationRequested)
            {
                break;
            }

            if (peer.PeerId != _signaling.PeerId && !_links.ContainsKey(peer.PeerId))
            {
                StartLink(peer.PeerId, $"n{Environment.ProcessId:x}-{Interlocked.Increment(ref _linkSeq)}", initiator: true, offerSdp: null);
            }
        }

        return joined.Peers;
    }

    private void OnWelcome(WelcomeMessage welcome)
    {
        if (welcome.Resumed || _signaling.Connections > 1)
        {
            _ = SafeAsync(() => JoinAsync(_stop.Token), "re-join after reconnecting");
        }
    }

    private void Rejoin()
    {
        if (!_stop.IsCancellationRequested && _signaling.IsConnected && _links.Count < _options.MaxPeers && WantsPeers())
        {
            _ = SafeAsync(() => JoinAsync(_stop.Token), "periodic join");
        }
    }

    private void ReportHave()
    {
        if (_stop.IsCancellationRequested || !_signaling.IsConnected)
        {
            return;
        }

        var summary = Summary(join: false);
        var fingerprint = ((long)summary.Chunks << 20) ^ summary.Connections;
        if (Interlocked.Exchange(ref _haveDirty, 0) == 1 || fingerprint != Interlocked.Read(ref _reported))
        {
            Interlocked.Exchange(ref _reported, fingerprint);
            _signaling.Have(summary);
        }
    }

    private async Task SafeAsync(Func<Task> work, string what)
    {
        try
        {
            await work().ConfigureAwait(false);
        }
        catch (Exception e) when (e is SignalingClientException or OperationCanceledException or ObjectDisposedException)
        {
            if (!_stop.IsCancellationRequested)
            {
                Problem?.Invoke($"{what}: {e.Message}");
            }
        }
    }

    private void OnMessage(ServerMessage message)
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        switch (message)
        {
            case RelayMessage relay when relay.Swarm == Swarm:
                OnRelay(relay);
                break;
            case PeerLeftMessage left when left.Swarm == Swarm:
                if (_links.TryGetValue(left.PeerId, out var gone) && gone.Session is null)
                {
                    Remove(gone, "peer left before connecting");
                }

                break;
        }
    }

    private void OnRelay(RelayMessage relay)
    {
        switch (relay.Kind)
        {
            case RelayKind.Offer:
                if (relay.ConnectionId is null)
                {
                    return;
                }

                if (_links.TryGetValue(relay.From, out var existing))
                {
                    // Both sides offered at once: the offer from the lower peer id wins (as the browser SDK).
                    if (existing.Session is not null || !existing.Initiator || string.CompareOrdinal(relay.From, _signaling.PeerId) > 0)
                    {
                        return;
                    }

                    Remove(existing, "glare", replaced: true);
                }
                else if (_links.Count >= _options.MaxPeers)
                {
                    Problem?.Invoke($"offer from {relay.From} ignored: {_options.MaxPeers} peers already");
                    return;
                }

                StartLink(relay.From, relay.ConnectionId, initiator: false, offerSdp: relay.Sdp);
                break;
            case RelayKind.Answer:
                if (_links.TryGetValue(relay.From, out var offered) && offered.ConnectionId == relay.ConnectionId && offered.Initiator)
                {
                    _ = offered.ApplyAnswerAsync(relay.Sdp!);
                }

                break;
            case RelayKind.Candidate:
                if (_links.TryGetValue(relay.From, out var target) && target.ConnectionId == relay.ConnectionId)
                {
                    _ = target.AddCandidateAsync(relay.Candidate);
                }

                break;
        }
    }

    private void StartLink(string remoteId, string cid, bool initiator, string? offerSdp)
    {
        var configuration = _options.Configuration?.Invoke(_iceServers) ?? new RtcConfiguration { IceServers = _iceServers };
        var link = new Link(this, remoteId, cid, initiator, new RtcPeerConnection(configuration));
        if (!_links.TryAdd(remoteId, link))
        {
            _ = link.DisposeAsync().AsTask();
            return;
        }

        _ = RunLinkAsync(link, offerSdp);
    }

    private async Task RunLinkAsync(Link link, string? offerSdp)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(_options.ConnectTimeout);
            var channel = await (offerSdp is null ? link.OfferAsync() : link.AnswerAsync(offerSdp)).ConfigureAwait(false);
            await link.Opened(channel).WaitAsync(timeout.Token).ConfigureAwait(false);
            var session = new PeerSession(new RtcDataChannelPeerChannel(channel), Manifest, _source, _options.Session, _time);
            link.Session = session;
            _ = session.StartAsync();
            _ = WatchAsync(link, session);
            await session.Ready.WaitAsync(timeout.Token).ConfigureAwait(false);
            Interlocked.Exchange(ref _haveDirty, 1);
            SessionReady?.Invoke(session, link.RemoteId);
        }
        catch (Exception e) when (e is OperationCanceledException or SdpException or InvalidOperationException or ArgumentException or PeerRequestException or PeerChannelClosedException)
        {
            Remove(link, e is OperationCanceledException ? "not connected within the connect timeout" : e.Message);
        }
    }

    private async Task WatchAsync(Link link, PeerSession session)
    {
        var reason = await session.Closed.ConfigureAwait(false);
        Remove(link, reason);
    }

    private void Remove(Link link, string reason, bool replaced = false)
    {
        if (_links.TryRemove(new KeyValuePair<string, Link>(link.RemoteId, link)))
        {
            Interlocked.Add(ref _uploadedByEnded, link.Session?.BytesUploaded ?? 0);
            Interlocked.Exchange(ref _haveDirty, 1);
            if (!replaced && !_stop.IsCancellationRequested)
            {
                PeerGone?.Invoke(link.RemoteId);
            }
        }

        if (!_stop.IsCancellationRequested && reason.Length > 0)
        {
            Problem?.Invoke($"peer {link.RemoteId}: {reason}");
        }

        _ = link.DisposeAsync().AsTask();
    }

    /// <summary>One peer connection: signaling state for it, the RTCPeerConnection and, once open, its session.</summary>
    private sealed class Link(NativeSwarm owner, string remoteId, string connectionId, bool initiator, RtcPeerConnection pc) : IAsyncDisposable
    {
        private readonly Lock _lock = new();
        private readonly List<CandidateInit?> _pendingRemote = [];
        private readonly List<RtcIceCandidate> _pendingLocal = [];
        private readonly HashSet<string> _sentInDescription = new(StringComparer.Ordinal);
        private bool _remoteSet;
        private bool _descriptionSent;
        private int _disposed;

        public string RemoteId { get; } = remoteId;

        public string ConnectionId { get; } = connectionId;

        public bool Initiator { get; } = initiator;

        public PeerSession? Session { get; set; }

        public async Task<RtcDataChannel> OfferAsync()
        {
            var channel = pc.CreateDataChannel(ChannelLabel);
            pc.OnIceCandidate += OnLocalCandidate;
            await pc.SetLocalDescriptionAsync(await pc.CreateOfferAsync().ConfigureAwait(false)).ConfigureAwait(false);
            SendDescription(RelayKind.Offer);
            return channel;
        }

        public async Task<RtcDataChannel> AnswerAsync(string offerSdp)
        {
            var channel = new TaskCompletionSource<RtcDataChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
            pc.OnDataChannel += c =>
            {
                if (c.Label == ChannelLabel)
                {
                    channel.TrySetResult(c);
                }
                else
                {
                    c.Close(); // only the wire protocol is spoken here
                }
            };
            pc.OnIceCandidate += OnLocalCandidate;
            await pc.SetRemoteDescriptionAsync(new RtcSessionDescription(RtcSdpType.Offer, offerSdp)).ConfigureAwait(false);
            await FlushRemoteCandidatesAsync().ConfigureAwait(false);
            await pc.SetLocalDescriptionAsync(await pc.CreateAnswerAsync().ConfigureAwait(false)).ConfigureAwait(false);
            SendDescription(RelayKind.Answer);
            return await channel.Task.ConfigureAwait(false);
        }

        public Task Opened(RtcDataChannel channel)
        {
            var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            channel.OnOpen += () => open.TrySetResult();
            channel.OnClose += () => open.TrySetException(new PeerChannelClosedException("the channel closed before it opened"));
            pc.OnConnectionStateChange += state =>
            {
                if (state is RtcPeerConnectionState.Failed or RtcPeerConnectionState.Closed)
                {
                    open.TrySetException(new PeerChannelClosedException($"connection {state}"));
                }
            };
            if (channel.ReadyState == RtcDataChannelState.Open)
            {
                open.TrySetResult();
            }

            return open.Task;
        }

        public async Task ApplyAnswerAsync(string sdp)
        {
            try
            {
                await pc.SetRemoteDescriptionAsync(new RtcSessionDescription(RtcSdpType.Answer, sdp)).ConfigureAwait(false);
                await FlushRemoteCandidatesAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is SdpException or InvalidOperationException or ArgumentException or ObjectDisposedException)
            {
                owner.Remove(this, $"bad answer: {e.Message}");
            }
        }

        public async Task AddCandidateAsync(CandidateInit? candidate)
        {
            lock (_lock)
            {
                if (!_remoteSet)
                {
                    if (_pendingRemote.Count < MaxPendingCandidates)
                    {
                        _pendingRemote.Add(candidate);
                    }

                    return;
                }
            }

            await ApplyCandidateAsync(candidate).ConfigureAwait(false);
        }

        private async Task FlushRemoteCandidatesAsync()
        {
            List<CandidateInit?> pending;
            lock (_lock)
            {
                _remoteSet = true;
                pending = [.. _pendingRemote];
                _pendingRemote.Clear();
            }

            foreach (var c in pending)
            {
                await ApplyCandidateAsync(c).ConfigureAwait(false);
            }
        }

        private async Task ApplyCandidateAsync(CandidateInit? candidate)
        {
            try
            {
                await pc.AddIceCandidateAsync(candidate is null ? null : new RtcIceCandidate(candidate.Candidate, candidate.SdpMid, candidate.SdpMLineIndex)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or ObjectDisposedException)
            {
                // A candidate we cannot use (an mDNS name, another family) is not fatal: peer-reflexive discovery covers it.
            }
        }

        private void SendDescription(RelayKind kind)
        {
            var sdp = pc.LocalDescription!.Sdp;
            List<RtcIceCandidate> late;
            lock (_lock)
            {
                foreach (var line in sdp.Split('\n'))
                {
                    if (line.StartsWith("a=candidate:", StringComparison.Ordinal))
                    {
                        _sentInDescription.Add(line[2..].TrimEnd('\r'));
                    }
                }

                _descriptionSent = true;
                late = [.. _pendingLocal];
                _pendingLocal.Clear();
            }

            owner._signaling.SendDescription(kind, RemoteId, owner.Swarm, ConnectionId, sdp);
            foreach (var c in late)
            {
                SendLocal(c);
            }
        }

        private void OnLocalCandidate(RtcIceCandidate candidate)
        {
            lock (_lock)
            {
                if (!_descriptionSent)
                {
                    _pendingLocal.Add(candidate);
                    return;
                }
            }

            SendLocal(candidate);
        }

        private void SendLocal(RtcIceCandidate candidate)
        {
            if (candidate.Candidate is { Length: > 0 } text && _sentInDescription.Contains(text))
            {
                return; // already in the description we sent
            }

            owner._signaling.SendCandidate(RemoteId, owner.Swarm, ConnectionId, string.IsNullOrEmpty(candidate.Candidate) ? null : new CandidateInit(candidate.Candidate, candidate.SdpMid, candidate.SdpMLineIndex));
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                return;
            }

            if (Session is { } session)
            {
                await session.DisposeAsync().ConfigureAwait(false);
            }

            await pc.DisposeAsync().ConfigureAwait(false);
        }
    }
}
