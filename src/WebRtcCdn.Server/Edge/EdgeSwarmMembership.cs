using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Signaling;
using WebRtcCdn.Core.Signaling.Client;
using WebRtcCdn.Rtc.PeerConnection;
using WebRtcCdn.Server.Origin;

namespace WebRtcCdn.Server.Edge;

/// <summary>
/// The edge seeder as a swarm member: one signaling connection (role <c>edge</c>) that joins the swarm of every content
/// item in the store (up to <c>edge.swarms.max_swarms</c>) and of content stored later (published or pulled through).
/// Viewers find the edge in their <c>joined</c> answers and offer to it; each offer goes through the same
/// <see cref="EdgeSeeder.AnswerAsync"/> as <c>POST /rtc/offer</c> (so <c>edge.max_peers</c>, transfers and the upload
/// bucket apply alike), and the answer goes back through signaling. The edge never offers: it is ICE-lite on one UDP
/// port, reachable by whoever offers to it, and it joins with <c>want: 0</c>.
/// </summary>
public sealed class EdgeSwarmMembership : IHostedService, IAsyncDisposable
{
    /// <summary>Trickled candidates kept per connection before its answer is ready (as the SDKs' own bound).</summary>
    private const int MaxPendingCandidates = 64;

    /// <summary>Join tokens the edge mints for itself (when a token secret is set) are valid this long; a join is checked once.</summary>
    private static readonly TimeSpan TokenLifetime = TimeSpan.FromHours(1);

    /// <summary>What the edge holds and how many connections it has are reported to signaling this often: 10 s.</summary>
    private static readonly TimeSpan HaveInterval = TimeSpan.FromSeconds(10);

    private readonly WebRtcCdnOptions _options;
    private readonly EdgeSeeder _edge;
    private readonly OriginContent _content;
    private readonly IServer _server;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<EdgeSwarmMembership> _logger;
    private readonly ConcurrentDictionary<string, Manifest> _swarms = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Peer, string Cid), Pending> _sessions = new();
    private readonly CancellationTokenSource _stop = new();
    private NativeSignalingClient? _client;
    private ITimer? _haveTimer;

    public EdgeSwarmMembership(WebRtcCdnOptions options, EdgeSeeder edge, OriginContent content, IServer server, IHostApplicationLifetime lifetime, ILogger<EdgeSwarmMembership> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _edge = edge;
        _content = content;
        _server = server;
        _lifetime = lifetime;
        _logger = logger;
    }

    public bool Enabled => _options.Edge.Enabled && _options.Edge.Swarms.Enabled;

    /// <summary>The edge's peer id in signaling (null until connected).</summary>
    public string? PeerId => _client?.PeerId;

    /// <summary>The swarms joined now.</summary>
    public IReadOnlyCollection<string> Swarms => [.. _swarms.Keys];

    /// <summary>Raised after a swarm was joined (the content id); tests wait on it.</summary>
    public event Action<string>? SwarmJoined;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Enabled)
        {
            // The server's own /signaling is reachable only once Kestrel listens.
            _lifetime.ApplicationStarted.Register(() => _ = Task.Run(RunAsync));
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync().ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _content.Published -= OnPublished;
        if (_haveTimer is not null)
        {
            await _haveTimer.DisposeAsync().ConfigureAwait(false);
        }

        if (_client is not null)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }
    }

    private Uri SignalingUri()
    {
        if (_options.Edge.Swarms.SignalingUrl.Length > 0)
        {
            return new Uri(_options.Edge.Swarms.SignalingUrl);
        }

        var address = _server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("the server listens on no address");
        // A wildcard listen address is reached over loopback from inside the process.
        return new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)
            .Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal));
    }

    private async Task RunAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        try
        {
            var client = new NativeSignalingClient(SignalingUri());
            _client = client;
            client.Welcomed += welcome => _ = JoinAllAsync();
            client.MessageReceived += OnMessage;
            client.ProtocolError += problem => _logger.LogWarning("edge signaling: {Problem}", problem);
            client.Disconnected += reason =>
            {
                _swarms.Clear(); // memberships end with the connection; the next welcome joins again
                _logger.LogInformation("edge signaling connection lost ({Reason}); reconnecting", reason);
            };
            _content.Published += OnPublished;
            _haveTimer = TimeProvider.System.CreateTimer(_ => ReportHave(), null, HaveInterval, HaveInterval);
            await client.ConnectAsync(_stop.Token).ConfigureAwait(false);
            _logger.LogInformation("Edge joined signaling at {Url} as {PeerId}", client.Endpoint, client.PeerId);
        }
        catch (SignalingClientException e)
        {
            _logger.LogWarning("Edge cannot reach signaling yet ({Reason}); retrying in the background", e.Message);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            _logger.LogDebug("Edge signaling not started: {Reason}", e.Message);
        }
    }

    private void OnPublished(Manifest manifest) => _ = JoinAsync(manifest);

    private async Task JoinAllAsync()
    {
        IReadOnlyList<Manifest> manifests;
        try
        {
            manifests = _content.Store.Manifests;
        }
        catch (StoreUnavailableException e)
        {
            _logger.LogWarning("Edge cannot list content to join: {Reason}", e.Message);
            return;
        }

        foreach (var manifest in manifests)
        {
            if (_content.GetManifest(manifest.Id) is { } served)
            {
                await JoinAsync(served).ConfigureAwait(false);
            }
        }
    }

    private JoinRequest Summary(Manifest manifest, bool join)
    {
        var count = manifest.ChunkCount;
        var bits = new byte[(count + 7) / 8];
        var held = 0;
        for (var i = 0; i < count; i++)
        {
            if (_content.Store.Contains(manifest.Chunks[i]))
            {
                bits[i >> 3] |= (byte)(0x80 >> (i & 7));
                held++;
            }
        }

        var swarm = manifest.Id.ToString();
        var secret = _options.Signaling.TokenSecret;
        return new JoinRequest
        {
            Swarm = swarm,
            Role = PeerRole.Edge,
            Token = join && secret.Length > 0 ? JoinToken.Create(secret, swarm, DateTimeOffset.UtcNow + TokenLifetime) : null,
            Chunks = held,
            Total = count,
            Bitfield = bits,
            MaxConnections = Math.Min(_options.Edge.MaxPeers, 10_000),
            Connections = Math.Min(_edge.Connections, 10_000),
            Want = join ? 0 : null,
            Uploaded = _edge.BytesUploaded,
        };
    }

    private async Task JoinAsync(Manifest manifest)
    {
        var client = _client;
        var swarm = manifest.Id.ToString();
        if (client is null || !client.IsConnected || _stop.IsCancellationRequested || _swarms.ContainsKey(swarm))
        {
            return;
        }

        if (_swarms.Count >= _options.Edge.Swarms.MaxSwarms)
        {
            _logger.LogWarning("Edge does not join the swarm of {ContentId}: edge.swarms.max_swarms ({Max}) reached", swarm, _options.Edge.Swarms.MaxSwarms);
            return;
        }

        try
        {
            await client.JoinAsync(Summary(manifest, join: true), _stop.Token).ConfigureAwait(false);
            _swarms[swarm] = manifest;
            SwarmJoined?.Invoke(swarm);
        }
        catch (SignalingClientException e)
        {
            _logger.LogWarning("Edge cannot join the swarm of {ContentId}: {Reason}", swarm, e.Message);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void ReportHave()
    {
        if (_client is not { IsConnected: true } client)
        {
            return;
        }

        foreach (var manifest in _swarms.Values)
        {
            client.Have(Summary(manifest, join: false));
        }
    }

    private void OnMessage(ServerMessage message)
    {
        switch (message)
        {
            case RelayMessage { Kind: RelayKind.Offer, ConnectionId: not null } offer when _swarms.ContainsKey(offer.Swarm):
                _ = AnswerAsync(offer);
                break;
            case RelayMessage { Kind: RelayKind.Candidate } candidate:
                if (candidate.ConnectionId is { } cid && _sessions.TryGetValue((candidate.From, cid), out var pending))
                {
                    pending.Add(_edge, candidate.Candidate);
                }

                break;
            case PeerLeftMessage left:
                foreach (var key in _sessions.Keys.Where(k => k.Peer == left.PeerId))
                {
                    if (_sessions.TryRemove(key, out var gone) && gone.SessionId is { } id)
                    {
                        _ = _edge.CloseAsync(id);
                    }
                }

                break;
        }
    }

    private async Task AnswerAsync(RelayMessage offer)
    {
        if (!ContentId.TryParse(offer.Swarm, out var contentId) || _client is not { } client)
        {
            return;
        }

        var key = (offer.From, offer.ConnectionId!);
        if (_sessions.Count >= _options.Edge.MaxPeers * 2)
        {
            foreach (var (k, p) in _sessions)
            {
                if (p.SessionId is { } known && !_edge.Contains(known))
                {
                    _sessions.TryRemove(k, out _);
                }
            }
        }

        var pending = new Pending();
        if (!_sessions.TryAdd(key, pending))
        {
            return; // a repeated offer for a connection that exists
        }

        try
        {
            var (id, answer) = await _edge.AnswerAsync(contentId, offer.Sdp!, _stop.Token).ConfigureAwait(false);
            client.SendDescription(RelayKind.Answer, offer.From, offer.Swarm, offer.ConnectionId, answer);
            pending.Ready(_edge, id);
        }
        catch (EdgeOfferException e)
        {
            _sessions.TryRemove(key, out _);
            _logger.LogDebug("Edge refused an offer from {Peer} for {ContentId}: {Code} {Reason}", offer.From, offer.Swarm, e.Code, e.Message);
        }
        catch (OperationCanceledException)
        {
            _sessions.TryRemove(key, out _);
        }
    }

    /// <summary>One signaling-made connection: its edge session id once answered, and candidates that came before.</summary>
    private sealed class Pending
    {
        private readonly Lock _lock = new();
        private readonly List<CandidateInit?> _early = [];

        public string? SessionId { get; private set; }

        public void Add(EdgeSeeder edge, CandidateInit? candidate)
        {
            string? id;
            lock (_lock)
            {
                id = SessionId;
                if (id is null)
                {
                    if (_early.Count < MaxPendingCandidates)
                    {
                        _early.Add(candidate);
                    }

                    return;
                }
            }

            _ = edge.AddCandidateAsync(id, ToRtc(candidate));
        }

        public void Ready(EdgeSeeder edge, string id)
        {
            List<CandidateInit?> early;
            lock (_lock)
            {
                SessionId = id;
                early = [.. _early];
                _early.Clear();
            }

            foreach (var c in early)
            {
                _ = edge.AddCandidateAsync(id, ToRtc(c));
            }
        }

        private static RtcIceCandidate? ToRtc(CandidateInit? c) => c is null ? null : new RtcIceCandidate(c.Candidate, c.SdpMid, c.SdpMLineIndex);
    }
}
