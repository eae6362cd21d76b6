using System.Collections;
using Microsoft.Extensions.Logging;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Core.Storage;
using WebRtcCdn.Core.Wire;
using WebRtcCdn.Server.Origin;

namespace WebRtcCdn.Server.Edge;

/// <summary>
/// The edge pulls chunks it lacks from its other peers. It knows, per content, its live sessions and, per chunk, how many
/// of their remotes announced it; a chunk it lacks but one of them holds is advertised (HELLO/HAVE mean "served on request"
/// for the edge) and, when asked for, requested from a holder, hashed against the manifest, stored and served. One pull per
/// chunk at a time (concurrent askers share it), at most <see cref="MaxConcurrentPulls"/> at once; a holder that sends bytes
/// that do not match the manifest is disconnected and the next holder is tried; a holder that refuses (REJECT not_found or
/// invalid) or does not answer within its session's request timeout a chunk it announced is not asked for that chunk again,
/// and after <see cref="MaxFailuresPerHolder"/> such failures for nothing at all; when nobody can deliver, the asker gets REJECT.
/// </summary>
internal sealed class EdgePeerPull : IDisposable
{
    /// <summary>Each pull holds one chunk (at most <see cref="Manifest.MaxChunkSize"/>) in memory until stored: 8 bounds that memory to a few MiB.</summary>
    internal const int MaxConcurrentPulls = 8;

    /// <summary>
    /// Failed requests in a row (REJECT not_found/invalid for a chunk it announced, or no answer within the request timeout)
    /// after which a holder is asked for nothing more: 3. One can be honest (a browser evicted the chunk between its HAVE and
    /// our REQUEST); three in a row are a peer whose announcements are worthless, and each unanswered one held a pull slot
    /// for a whole request timeout.
    /// </summary>
    internal const int MaxFailuresPerHolder = 3;

    /// <summary>How long a pull waits for a free slot before the asker is refused (the asker retries elsewhere; a request that waits longer would hit its own timeout anyway).</summary>
    private static readonly TimeSpan SlotWait = TimeSpan.FromSeconds(10);

    private readonly OriginContent _content;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<ContentId, Swarm> _swarms = [];
    private readonly Dictionary<(ContentId, int), Task<ReadOnlyMemory<byte>?>> _pulls = [];
    private readonly SemaphoreSlim _slots = new(MaxConcurrentPulls);
    private readonly CancellationTokenSource _stop = new();
    private long _pulled;
    private long _poisoners;
    private long _distrusted;

    /// <param name="time">The clock of the slot wait (the sessions' own clocks time their requests).</param>
    public EdgePeerPull(OriginContent content, ILogger logger, TimeProvider? time = null)
    {
        _content = content;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Chunks pulled from peers, verified and stored.</summary>
    public long ChunksPulled => Interlocked.Read(ref _pulled);

    /// <summary>Peers disconnected because a chunk they sent did not match the manifest.</summary>
    public long PeersDisconnectedForBadChunks => Interlocked.Read(ref _poisoners);

    /// <summary>Holders no longer asked for anything after <see cref="MaxFailuresPerHolder"/> failed requests in a row.</summary>
    public long HoldersDistrusted => Interlocked.Read(ref _distrusted);

    /// <summary>Tracks a session until it closes; what its remote holds becomes pullable (and is advertised to the others).</summary>
    /// <remarks>Register before starting the session: its HELLO then lists what the others hold.</remarks>
    public void Register(PeerSession session, Func<int, bool> held)
    {
        var id = session.Manifest.Id;
        Holder holder;
        lock (_gate)
        {
            if (!_swarms.TryGetValue(id, out var swarm))
            {
                _swarms[id] = swarm = new Swarm(session.Manifest.ChunkCount);
            }

            holder = new Holder(session, swarm);
            swarm.Holders.Add(holder);
        }

        session.RemoteHaveReceived += (_, chunk) => Count(holder, chunk, held);
        _ = session.Ready.ContinueWith(
            _ =>
            {
                // Once per session: its HELLO's chunks. Later ones arrive as HAVE events (a repeated HAVE raises none).
                for (var i = 0; i < session.Manifest.ChunkCount; i++)
                {
                    if (session.RemoteHas(i))
                    {
                        Count(holder, i, held);
                    }
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.OnlyOnRanToCompletion,
            TaskScheduler.Default);
        _ = session.Closed.ContinueWith(
            _ =>
            {
                lock (_gate)
                {
                    var swarm = holder.Swarm;
                    holder.Closed = true;
                    UncountAll(holder);
                    if (swarm.Holders.Remove(holder) && swarm.Holders.Count == 0 && _swarms.TryGetValue(id, out var current) && current == swarm)
                    {
                        _swarms.Remove(id);
                    }
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Whether another live session's remote announced the chunk (and was not caught failing to deliver it).</summary>
    public bool Reachable(ContentId id, int chunk)
    {
        lock (_gate)
        {
            return _swarms.TryGetValue(id, out var swarm) && (uint)chunk < (uint)swarm.Holding.Length && swarm.Holding[chunk] > 0;
        }
    }

    /// <summary>The chunk's verified bytes, pulled from a peer (single-flight), or null when no peer delivered it.</summary>
    public Task<ReadOnlyMemory<byte>?> PullAsync(Manifest manifest, int chunk, CancellationToken cancellationToken)
    {
        Task<ReadOnlyMemory<byte>?> pull;
        lock (_gate)
        {
            if (!_pulls.TryGetValue((manifest.Id, chunk), out pull!))
            {
                // Not the asker's token: the pull is shared, and one asker leaving must not fail the others.
                pull = RunPullAsync(manifest, chunk);
                _pulls[(manifest.Id, chunk)] = pull;
            }
        }

        return pull.WaitAsync(cancellationToken);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
        _slots.Dispose();
    }

    /// <summary>
    /// The remote of <paramref name="holder"/> announced the chunk. O(1), except when it is the chunk's first live holder:
    /// then every other session is told once (O(sessions)). A HAVE per holder per session (the old fan-out) made N holders
    /// of one chunk cost N x N HAVE frames; now they cost N (one per session, when the chunk becomes reachable).
    /// </summary>
    private void Count(Holder holder, int chunk, Func<int, bool> held)
    {
        lock (_gate)
        {
            if (holder.Closed || holder.Distrusted || (uint)chunk >= (uint)holder.Counted.Length || holder.Counted[chunk] || holder.Refused[chunk])
            {
                return;
            }

            holder.Counted[chunk] = true;
            if (holder.Swarm.Holding[chunk]++ != 0)
            {
                return; // the others were told when it became reachable (or their HELLO listed it)
            }
        }

        if (held(chunk))
        {
            return; // the edge holds it: its HELLO said so already
        }

        lock (_gate)
        {
            if (holder.Swarm.Holding[chunk] == 0)
            {
                return; // its holder went away meanwhile
            }

            // AnnounceHave only sets a bit and wakes the session's loop (never blocks, never runs its code here).
            foreach (var other in holder.Swarm.Holders)
            {
                if (other != holder && !other.Closed)
                {
                    other.Session.AnnounceHave(chunk);
                }
            }
        }
    }

    /// <summary>The holder did not deliver a chunk it announced: never asked for it again, and after repeated failures for nothing.</summary>
    private void Failed(Holder holder, int chunk, ContentId id, string failure)
    {
        bool distrusted;
        lock (_gate)
        {
            holder.Refused[chunk] = true;
            Uncount(holder, chunk);
            distrusted = ++holder.Failures >= MaxFailuresPerHolder && !holder.Distrusted;
            if (distrusted)
            {
                holder.Distrusted = true;
                UncountAll(holder);
            }
        }

        _logger.LogDebug("edge pull of chunk {Chunk} of {Content} from {Peer} failed: {Failure}", chunk, id, holder.Session.Label, failure);
        if (distrusted)
        {
            Interlocked.Increment(ref _distrusted);
            _logger.LogInformation("edge pull: {Peer} failed {Failures} requests in a row for chunks of {Content} it announced: not asked again", holder.Session.Label, MaxFailuresPerHolder, id);
        }
    }

    private static void Uncount(Holder holder, int chunk)
    {
        if (holder.Counted[chunk])
        {
            holder.Counted[chunk] = false;
            holder.Swarm.Holding[chunk]--;
        }
    }

    private static void UncountAll(Holder holder)
    {
        for (var i = 0; i < holder.Counted.Length; i++)
        {
            Uncount(holder, i);
        }
    }

    private async Task<ReadOnlyMemory<byte>?> RunPullAsync(Manifest manifest, int chunk)
    {
        await Task.Yield(); // leave the lock before doing anything
        var token = _stop.Token;
        var tried = new HashSet<Holder>();
        var slot = false;
        try
        {
            using (var timeout = new CancellationTokenSource(SlotWait, _time))
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(token, timeout.Token))
            {
                await _slots.WaitAsync(wait.Token).ConfigureAwait(false);
                slot = true;
            }

            while (NextHolder(manifest.Id, chunk, tried) is { } holder)
            {
                tried.Add(holder);
                byte[] data;
                try
                {
                    // The session's own request timeout (PeerSessionOptions.RequestTimeout) ends a request nobody answers,
                    // and a session that ends fails its requests: no second timer, no wait on Closed here.
                    data = await holder.Session.DownloadChunkAsync(chunk, token).ConfigureAwait(false);
                }
                catch (PeerRequestException e)
                {
                    if (e.Failure == RequestFailure.TimedOut || e.Reason is RejectReason.NotFound or RejectReason.Invalid)
                    {
                        Failed(holder, chunk, manifest.Id, e.Message);
                    }
                    else
                    {
                        // Busy, choked, our own outstanding limit, or the session ended: not a lie, just not now.
                        _logger.LogDebug("edge pull of chunk {Chunk} of {Content} from {Peer}: {Failure}", chunk, manifest.Id, holder.Session.Label, e.Message);
                    }

                    continue;
                }

                if (data.Length != manifest.ChunkLength(chunk) || Sha256Digest.Compute(data) != manifest.Chunks[chunk])
                {
                    Interlocked.Increment(ref _poisoners);
                    _logger.LogWarning("edge pull: a peer sent a bad chunk {Chunk} of {Content}: disconnected", chunk, manifest.Id);
                    _ = holder.Session.DisposeAsync().AsTask(); // its connection is removed when the session ends
                    continue;
                }

                lock (_gate)
                {
                    holder.Failures = 0; // "in a row"
                }

                var pinned = _content.Store.GetKind(manifest.Id) == StoredContentKind.Published;
                await _content.Store.PutAsync(manifest.Chunks[chunk], data, pinned, trusted: true, token).ConfigureAwait(false);
                Interlocked.Increment(ref _pulled);
                return data;
            }

            return null;
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or IOException)
        {
            return null; // no free slot in time, the edge stopping, or the store refusing: the asker gets REJECT
        }
        finally
        {
            if (slot)
            {
                try
                {
                    _slots.Release();
                }
                catch (ObjectDisposedException)
                {
                    // The edge stopped meanwhile.
                }
            }

            lock (_gate)
            {
                _pulls.Remove((manifest.Id, chunk));
            }
        }
    }

    private Holder? NextHolder(ContentId id, int chunk, HashSet<Holder> tried)
    {
        lock (_gate)
        {
            if (!_swarms.TryGetValue(id, out var swarm))
            {
                return null;
            }

            foreach (var holder in swarm.Holders)
            {
                // RemoteHas rather than Counted: a HELLO's chunks are counted by a continuation that may not have run yet.
                if (!tried.Contains(holder) && !holder.Closed && !holder.Distrusted && !holder.Refused[chunk] && !holder.Session.IsClosed
                    && holder.Session.Ready.IsCompletedSuccessfully && holder.Session.RemoteHas(chunk))
                {
                    return holder;
                }
            }

            return null;
        }
    }

    /// <summary>The edge's sessions for one content, and per chunk how many of their remotes hold it (guarded by the pull's lock).</summary>
    private sealed class Swarm(int chunkCount)
    {
        public List<Holder> Holders { get; } = [];

        public int[] Holding { get; } = new int[chunkCount];
    }

    /// <summary>One session as a source of chunks (guarded by the pull's lock).</summary>
    private sealed class Holder(PeerSession session, Swarm swarm)
    {
        public PeerSession Session { get; } = session;

        public Swarm Swarm { get; } = swarm;

        /// <summary>Chunks counted in <see cref="Swarm.Holding"/> for this holder.</summary>
        public BitArray Counted { get; } = new(session.Manifest.ChunkCount);

        /// <summary>Chunks it announced but did not deliver: not asked for again, not counted again.</summary>
        public BitArray Refused { get; } = new(session.Manifest.ChunkCount);

        public int Failures { get; set; }

        public bool Distrusted { get; set; }

        public bool Closed { get; set; }
    }
}
