using Microsoft.Extensions.Logging;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Core.Storage;
using WebRtcCdn.Server.Origin;

namespace WebRtcCdn.Server.Edge;

/// <summary>
/// The edge pulls chunks it lacks from its other peers. It knows, per content, its live sessions and what each remote
/// announced; a chunk it lacks but one of them holds is advertised (HELLO/HAVE mean "served on request" for the edge) and,
/// when asked for, requested from a holder, hashed against the manifest, stored and served. One pull per chunk at a time
/// (concurrent askers share it), at most <see cref="MaxConcurrentPulls"/> at once; a holder that sends bytes that do not
/// match the manifest is disconnected and the next holder is tried; when nobody can deliver, the asker gets REJECT.
/// </summary>
internal sealed class EdgePeerPull : IDisposable
{
    /// <summary>Each pull holds one chunk (at most <see cref="Manifest.MaxChunkSize"/>) in memory until stored: 8 bounds that memory to a few MiB.</summary>
    internal const int MaxConcurrentPulls = 8;

    /// <summary>How long a pull waits for a free slot before the asker is refused (the asker retries elsewhere; a request that waits longer would hit its own timeout anyway).</summary>
    private static readonly TimeSpan SlotWait = TimeSpan.FromSeconds(10);

    /// <summary>A backstop per holder, equal to the sessions' own request timeout (PeerSessionOptions.RequestTimeout, 20 s).</summary>
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(20);

    private readonly OriginContent _content;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<ContentId, List<PeerSession>> _sessions = [];
    private readonly Dictionary<(ContentId, int), Task<ReadOnlyMemory<byte>?>> _pulls = [];
    private readonly SemaphoreSlim _slots = new(MaxConcurrentPulls);
    private readonly CancellationTokenSource _stop = new();
    private long _pulled;
    private long _poisoners;

    public EdgePeerPull(OriginContent content, ILogger logger)
    {
        _content = content;
        _logger = logger;
    }

    /// <summary>Chunks pulled from peers, verified and stored.</summary>
    public long ChunksPulled => Interlocked.Read(ref _pulled);

    /// <summary>Peers disconnected because a chunk they sent did not match the manifest.</summary>
    public long PeersDisconnectedForBadChunks => Interlocked.Read(ref _poisoners);

    /// <summary>Tracks a session until it closes; what its remote holds becomes pullable (and is advertised to the others).</summary>
    public void Register(PeerSession session, Func<int, bool> held)
    {
        var id = session.Manifest.Id;
        lock (_gate)
        {
            if (!_sessions.TryGetValue(id, out var list))
            {
                _sessions[id] = list = [];
            }

            list.Add(session);
        }

        session.RemoteHaveReceived += (from, chunk) => Advertise(from, chunk, held);
        _ = session.Ready.ContinueWith(
            ready =>
            {
                if (ready.IsCompletedSuccessfully)
                {
                    for (var i = 0; i < session.Manifest.ChunkCount; i++)
                    {
                        if (session.RemoteHas(i))
                        {
                            Advertise(session, i, held);
                        }
                    }
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        _ = session.Closed.ContinueWith(
            _ =>
            {
                lock (_gate)
                {
                    if (_sessions.TryGetValue(id, out var list) && list.Remove(session) && list.Count == 0)
                    {
                        _sessions.Remove(id);
                    }
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Whether another live session's remote announced the chunk.</summary>
    public bool Reachable(ContentId id, int chunk)
    {
        lock (_gate)
        {
            return _sessions.TryGetValue(id, out var list) && list.Exists(s => !s.IsClosed && s.RemoteHas(chunk));
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

    private void Advertise(PeerSession from, int chunk, Func<int, bool> held)
    {
        if (held(chunk))
        {
            return; // the edge holds it: its HELLO said so already
        }

        PeerSession[] others;
        lock (_gate)
        {
            others = _sessions.TryGetValue(from.Manifest.Id, out var list) ? [.. list.Where(s => s != from && !s.IsClosed)] : [];
        }

        foreach (var other in others)
        {
            other.AnnounceHave(chunk); // a duplicate HAVE (a holder already known) only sets a set bit again
        }
    }

    private async Task<ReadOnlyMemory<byte>?> RunPullAsync(Manifest manifest, int chunk)
    {
        await Task.Yield(); // leave the lock before doing anything
        var token = _stop.Token;
        var tried = new HashSet<PeerSession>();
        var slot = false;
        try
        {
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(token))
            {
                wait.CancelAfter(SlotWait);
                await _slots.WaitAsync(wait.Token).ConfigureAwait(false);
                slot = true;
            }

            while (NextHolder(manifest.Id, chunk, tried) is { } holder)
            {
                tried.Add(holder);
                var data = await TryDownloadAsync(holder, manifest.Id, chunk, token).ConfigureAwait(false);
                token.ThrowIfCancellationRequested();
                if (data is null)
                {
                    continue;
                }

                if (data.Length != manifest.ChunkLength(chunk) || Sha256Digest.Compute(data) != manifest.Chunks[chunk])
                {
                    Interlocked.Increment(ref _poisoners);
                    _logger.LogWarning("edge pull: a peer sent a bad chunk {Chunk} of {Content}: disconnected", chunk, manifest.Id);
                    _ = holder.DisposeAsync().AsTask(); // its connection is removed when the session ends
                    continue;
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

    /// <summary>One holder's answer, or null (rejected, timed out, or the holder went away meanwhile).</summary>
    private async Task<byte[]?> TryDownloadAsync(PeerSession holder, ContentId id, int chunk, CancellationToken stop)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stop);
        attempt.CancelAfter(AttemptTimeout);
        var download = holder.DownloadChunkAsync(chunk, attempt.Token);
        // A session whose loop has ended completes no command: its end must end the wait too.
        if (await Task.WhenAny(download, holder.Closed).ConfigureAwait(false) != download)
        {
            await attempt.CancelAsync().ConfigureAwait(false);
        }

        try
        {
            return await download.ConfigureAwait(false);
        }
        catch (Exception e) when (e is PeerRequestException or OperationCanceledException)
        {
            _logger.LogDebug("edge pull of chunk {Chunk} of {Content} from {Peer} failed: {Failure}", chunk, id, holder.Label, e.Message);
            return null;
        }
    }

    private PeerSession? NextHolder(ContentId id, int chunk, HashSet<PeerSession> tried)
    {
        lock (_gate)
        {
            return _sessions.TryGetValue(id, out var list)
                ? list.Find(s => !tried.Contains(s) && !s.IsClosed && s.Ready.IsCompletedSuccessfully && s.RemoteHas(chunk))
                : null;
        }
    }
}
