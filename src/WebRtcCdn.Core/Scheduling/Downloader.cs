using System.Net;
using Microsoft.Win32.SafeHandles;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Core.Wire;

namespace WebRtcCdn.Core.Scheduling;

/// <summary>
/// Downloads one content item into a file: the manifest from the origin, chunks from peers when one holds
/// them, from the origin's <c>/content/{id}/chunks/{n}</c> otherwise; every chunk checked against the
/// manifest's SHA-256 before it is written or announced. Resumable: verified chunks are recorded in a
/// sidecar next to <c>file.part</c>, and a second run continues from them. Open with <see cref="OpenAsync"/>,
/// add peers (sessions built over <see cref="ChunkSource"/>, so the download serves what it has), then
/// <see cref="RunAsync"/>.
/// </summary>
public sealed class Downloader : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly DownloaderOptions _options;
    private readonly SafeFileHandle _file;
    private readonly bool[] _done;

    /// <summary>Chunks being transferred (written by <see cref="RunAsync"/>, read by the HAVE handlers to skip a pointless wake).</summary>
    private readonly bool[] _transferring;
    private readonly List<PeerSlot> _peers = [];
    private readonly Lock _peersLock = new();
    private readonly SwarmGrace _grace;
    private readonly long _started;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _fromPeers;
    private long _fromHttp;
    private readonly long _resumed;
    private long _passes;
    private long _haveWakes;

    /// <summary>With nothing else to wake it, the scheduler looks again this often: 1 s, a safety net for a missed wake-up.</summary>
    private static readonly TimeSpan IdleRecheck = TimeSpan.FromSeconds(1);

    private Downloader(HttpClient http, DownloaderOptions options, Manifest manifest, SafeFileHandle file, bool[] done, long resumed)
    {
        _http = http;
        _options = options;
        Manifest = manifest;
        _file = file;
        _done = done;
        _transferring = new bool[done.Length];
        _resumed = resumed;
        _grace = new SwarmGrace(options.PeerGrace);
        _started = options.Time.GetTimestamp();
        ChunkSource = new PartialFileSource(this);
    }

    public Manifest Manifest { get; }

    /// <summary>Serves the verified chunks of this download to peers.</summary>
    public IChunkSource ChunkSource { get; }

    public string PartPath => _options.OutputPath + ".part";

    public string StatePath => _options.OutputPath + ".part.state";

    /// <summary>Fetches and checks the manifest (its canonical hash must be the requested id) and opens or resumes the partial file.</summary>
    public static async Task<Downloader> OpenAsync(HttpClient http, DownloaderOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        var manifest = await FetchManifestAsync(http, options.Origin, options.ContentId, cancellationToken).ConfigureAwait(false);
        var part = options.OutputPath + ".part";
        var statePath = part + ".state";
        SafeFileHandle file;
        try
        {
            file = File.OpenHandle(part, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, FileOptions.Asynchronous);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DownloadException(DownloadFailure.Failed, $"cannot open {part}: {e.Message}", e);
        }

        var done = File.Exists(part) ? DownloadState.Load(statePath, manifest.Id, manifest.ChunkCount) : null;
        done ??= new bool[manifest.ChunkCount];
        long resumed = 0;
        if (RandomAccess.GetLength(file) != manifest.Size)
        {
            RandomAccess.SetLength(file, manifest.Size);
        }

        // Re-verify what the sidecar claims: a file edited or truncated between runs costs a re-download, never wrong bytes.
        var buffer = new byte[manifest.ChunkSize];
        for (var i = 0; i < done.Length; i++)
        {
            if (!done[i])
            {
                continue;
            }

            var length = manifest.ChunkLength(i);
            var read = await RandomAccess.ReadAsync(file, buffer.AsMemory(0, length), manifest.ChunkOffset(i), cancellationToken).ConfigureAwait(false);
            done[i] = read == length && Sha256Digest.Compute(buffer.AsSpan(0, length)) == manifest.Chunks[i];
            resumed += done[i] ? length : 0;
        }

        return new Downloader(http, options, manifest, file, done, resumed);
    }

    public static async Task<Manifest> FetchManifestAsync(HttpClient http, Uri origin, ContentId id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var uri = new Uri(origin, $"content/{id}/manifest");
        try
        {
            using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                throw new DownloadException(DownloadFailure.NotFound, $"{uri}: 404: the server does not know content {id}");
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new DownloadException(DownloadFailure.Failed, $"{uri}: HTTP {(int)response.StatusCode}");
            }

            if (response.Content.Headers.ContentLength > Manifest.MaxJsonBytes)
            {
                throw new DownloadException(DownloadFailure.Failed, $"{uri}: manifest larger than {Manifest.MaxJsonBytes} bytes");
            }

            var json = await ReadBoundedAsync(response, Manifest.MaxJsonBytes, cancellationToken).ConfigureAwait(false);
            if (!Manifest.TryParse(json, out var manifest, out var error))
            {
                throw new DownloadException(DownloadFailure.Failed, $"{uri}: invalid manifest: {error}");
            }

            if (manifest!.Id != id)
            {
                throw new DownloadException(DownloadFailure.Failed, $"{uri}: the manifest's hash is {manifest.Id}, not the requested id");
            }

            return manifest;
        }
        catch (HttpRequestException e)
        {
            throw new DownloadException(DownloadFailure.Failed, $"{uri}: {e.Message}", e);
        }
    }

    /// <summary>Scheduling passes run so far (a pass looks at the missing chunks once): what a HAVE or a transfer costs.</summary>
    internal long Passes => Interlocked.Read(ref _passes);

    /// <summary>HAVEs that woke the scheduler (the others were for chunks done or being transferred).</summary>
    internal long HaveWakes => Interlocked.Read(ref _haveWakes);

    /// <summary>Adds a peer (its session is started by the caller). Any time, also while running.</summary>
    /// <param name="peerId">The swarm's id for it, when it was <see cref="ExpectPeers"/>ed: it is no longer waited for.</param>
    public void AddPeer(PeerSession session, string? peerId = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        session.RemoteHaveReceived += (_, chunk) => OnRemoteHave(chunk);
        // A peer added before its HELLO cannot be picked yet (PickPeer needs Ready): its HELLO must wake a pass, or what it
        // holds waits for the idle re-check (and forever under a clock that does not move). A failed HELLO ends in Closed.
        _ = session.Ready.ContinueWith(_ => Wake(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        _ = session.Closed.ContinueWith(_ => Wake(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        lock (_peersLock)
        {
            _peers.Add(new PeerSlot(session));
            if (peerId is not null)
            {
                _grace.Settle(peerId);
            }
        }

        Wake();
    }

    /// <summary>
    /// Swarm candidates that are connecting: until each was added (<see cref="AddPeer"/>) or failed
    /// (<see cref="PeerFailed"/>), for at most <see cref="DownloaderOptions.PeerGrace"/> from the first call, no chunk is
    /// fetched over HTTP, so what they hold comes from them.
    /// </summary>
    public void ExpectPeers(IEnumerable<string> peerIds)
    {
        ArgumentNullException.ThrowIfNull(peerIds);
        lock (_peersLock)
        {
            foreach (var id in peerIds)
            {
                _grace.Expect(id, Now);
            }
        }

        Wake();
    }

    /// <summary>An expected candidate will not come (its connection failed, it left): HTTP need not wait for it.</summary>
    public void PeerFailed(string peerId)
    {
        ArgumentNullException.ThrowIfNull(peerId);
        lock (_peersLock)
        {
            _grace.Settle(peerId);
        }

        Wake();
    }

    public DownloadProgress Progress => new(Manifest.Size, Interlocked.Read(ref _fromPeers), Interlocked.Read(ref _fromHttp), _resumed, _done.Count(d => d), Manifest.ChunkCount);

    /// <summary>Downloads every missing chunk, then renames <c>.part</c> to the output path and removes the sidecar.</summary>
    public async Task<DownloadProgress> RunAsync(IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var attempts = new int[Manifest.ChunkCount];
        var excluded = new Dictionary<int, HashSet<PeerSlot>>();
        var inFlight = new Dictionary<Task<Fetched>, int>();
        var started = _transferring;
        var httpInFlight = 0;
        var firstMissing = 0; // every chunk before it is done: a pass starts there
        progress?.Report(Progress);
        while (true)
        {
            var wake = _wake;
            if (wake.Task.IsCompleted)
            {
                _ = Interlocked.CompareExchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), wake);
                wake = _wake;
            }

            TimeSpan? holdUntil;
            PeerSlot[] peers;
            lock (_peersLock)
            {
                holdUntil = _grace.Deadline(Now);
                peers = [.. _peers]; // one snapshot per pass, not one per chunk looked at
            }

            // Schedule: chunks in order (a viewer streams from the front); a peer holding it when one is free,
            // the origin when no live peer holds it and no expected candidate is still connecting.
            Interlocked.Increment(ref _passes);
            while (firstMissing < _done.Length && _done[firstMissing])
            {
                firstMissing++;
            }

            for (var i = firstMissing; i < _done.Length; i++)
            {
                if (_done[i] || started[i])
                {
                    continue;
                }

                var peer = PickPeer(peers, i, excluded.GetValueOrDefault(i));
                if (peer is not null)
                {
                    peer.InFlight++;
                    Volatile.Write(ref started[i], true);
                    inFlight[FromPeerAsync(peer, i, cancellationToken)] = i;
                }
                else if (holdUntil is null && !_options.DisableHttpChunks && httpInFlight < _options.MaxHttpConcurrency && !AnyLivePeerHas(peers, i, excluded.GetValueOrDefault(i)))
                {
                    httpInFlight++;
                    Volatile.Write(ref started[i], true);
                    inFlight[FromHttpAsync(i, cancellationToken)] = i;
                }
            }

            if (inFlight.Count == 0)
            {
                if (firstMissing == _done.Length)
                {
                    break;
                }

                if (holdUntil is null && !HasLivePeers(peers) && (!_options.DisableHttpChunks || peers.Length > 0))
                {
                    throw new DownloadException(DownloadFailure.Failed, "no source left for the missing chunks");
                }
            }

            // Wait for a transfer, a peer (added, failed, closed, a HAVE), the end of the grace, or the idle re-check.
            var recheck = holdUntil is { } until && until - Now < IdleRecheck ? until - Now : IdleRecheck;
            using var stopWaiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var timer = Task.Delay(recheck > TimeSpan.Zero ? recheck : TimeSpan.Zero, _options.Time, stopWaiting.Token);
            Task[] waitOn = [.. inFlight.Keys, wake.Task, timer];

            // The grace may have ended between reading it and arming the timer (a fake clock advanced meanwhile): go on.
            var woken = holdUntil is { } end && Now >= end ? wake.Task : await Task.WhenAny(waitOn).ConfigureAwait(false);
            await stopWaiting.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            if (woken is not Task<Fetched> finished)
            {
                continue;
            }

            var index = inFlight[finished];
            inFlight.Remove(finished);
            Volatile.Write(ref started[index], false); // a pass follows (this loop continues): a HAVE meanwhile need not wake
            var result = await finished.ConfigureAwait(false);
            if (result.Peer is { } slot)
            {
                slot.InFlight--;
            }
            else
            {
                httpInFlight--;
            }

            if (result.Data is { } data && Sha256Digest.Compute(data) == Manifest.Chunks[index])
            {
                await RandomAccess.WriteAsync(_file, data, Manifest.ChunkOffset(index), cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref _done[index], true);
                if (result.Peer is null)
                {
                    Interlocked.Add(ref _fromHttp, data.Length);
                }
                else
                {
                    Interlocked.Add(ref _fromPeers, data.Length);
                }

                DownloadState.Save(StatePath, Manifest.Id, _done);
                foreach (var other in Snapshot())
                {
                    other.Session.AnnounceHave(index);
                }

                progress?.Report(Progress);
                continue;
            }

            if (result.Peer is { } failedPeer)
            {
                if (result.Data is not null)
                {
                    failedPeer.Banned = true; // delivered bytes that do not match the manifest: never asked again
                }

                (excluded.TryGetValue(index, out var set) ? set : excluded[index] = []).Add(failedPeer);
            }
            else if (++attempts[index] >= _options.MaxHttpAttempts)
            {
                if (result.NotFound)
                {
                    throw new DownloadException(DownloadFailure.NotFound, $"chunk {index}: the origin does not have it ({result.Error})");
                }

                throw new DownloadException(DownloadFailure.Failed, $"chunk {index}: {(result.Data is null ? result.Error : "bytes do not match the manifest's SHA-256")} after {attempts[index]} attempts");
            }
        }

        RandomAccess.FlushToDisk(_file);
        _file.Dispose();
        File.Move(PartPath, _options.OutputPath, overwrite: true);
        File.Delete(StatePath);
        var final = Progress;
        progress?.Report(final);
        return final;
    }

    public async ValueTask DisposeAsync()
    {
        _file.Dispose();
        foreach (var peer in Snapshot())
        {
            await peer.Session.DisposeAsync().ConfigureAwait(false);
        }

    }

    /// <summary>Monotonic time since this download was opened (the grace's clock).</summary>
    private TimeSpan Now => _options.Time.GetElapsedTime(_started);

    private void Wake() => _wake.TrySetResult();

    /// <summary>
    /// A peer announced a chunk (on its session's loop). Only a chunk neither done nor being transferred can change what
    /// a pass does; for the others a wake would be a whole pass for nothing (a peer announcing what we already have, or
    /// many peers announcing one chunk). A transfer that ends runs a pass anyway, so a HAVE that races with it is not lost.
    /// </summary>
    private void OnRemoteHave(int chunk)
    {
        if ((uint)chunk < (uint)_done.Length && !Volatile.Read(ref _done[chunk]) && !Volatile.Read(ref _transferring[chunk]))
        {
            Interlocked.Increment(ref _haveWakes);
            Wake();
        }
    }

    private PeerSlot? PickPeer(PeerSlot[] peers, int index, HashSet<PeerSlot>? excluded)
    {
        PeerSlot? best = null;
        foreach (var peer in peers)
        {
            if (!peer.Banned && !peer.Session.IsClosed && peer.Session.Ready.IsCompletedSuccessfully && peer.Session.RemoteHas(index)
                && peer.InFlight < _options.MaxRequestsPerPeer && (excluded is null || !excluded.Contains(peer))
                && (best is null || peer.InFlight < best.InFlight))
            {
                best = peer;
            }
        }

        return best;
    }

    private static bool AnyLivePeerHas(PeerSlot[] peers, int index, HashSet<PeerSlot>? excluded)
    {
        foreach (var peer in peers)
        {
            if (!peer.Banned && !peer.Session.IsClosed && peer.Session.RemoteHas(index) && (excluded is null || !excluded.Contains(peer)))
            {
                return true;
            }
        }

        return false;
    }

    private static bool HasLivePeers(PeerSlot[] peers)
    {
        foreach (var peer in peers)
        {
            if (!peer.Banned && !peer.Session.IsClosed)
            {
                return true;
            }
        }

        return false;
    }

    private PeerSlot[] Snapshot()
    {
        lock (_peersLock)
        {
            return [.. _peers];
        }
    }

    private static async Task<Fetched> FromPeerAsync(PeerSlot peer, int index, CancellationToken cancellationToken)
    {
        try
        {
            return new Fetched(peer, await peer.Session.DownloadChunkAsync(index, cancellationToken).ConfigureAwait(false), false, null);
        }
        catch (PeerRequestException e)
        {
            return new Fetched(peer, null, e.Reason == RejectReason.NotFound, e.Message);
        }
    }

    private async Task<Fetched> FromHttpAsync(int index, CancellationToken cancellationToken)
    {
        var uri = new Uri(_options.Origin, $"content/{Manifest.Id}/chunks/{index}");
        try
        {
            using var response = await _http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return new Fetched(null, null, response.StatusCode == HttpStatusCode.NotFound, $"{uri}: HTTP {(int)response.StatusCode}");
            }

            return new Fetched(null, await ReadBoundedAsync(response, Manifest.ChunkLength(index), cancellationToken).ConfigureAwait(false), false, null);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or InvalidDataException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new Fetched(null, null, false, $"{uri}: {e.Message}");
        }
    }

    /// <summary>Reads a body of at most <paramref name="limit"/> bytes: a server cannot make us allocate more.</summary>
    private static async Task<byte[]> ReadBoundedAsync(HttpResponseMessage response, int limit, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    throw new InvalidDataException($"response larger than {limit} bytes");
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
    }

    private sealed record Fetched(PeerSlot? Peer, byte[]? Data, bool NotFound, string? Error);

    private sealed class PeerSlot(PeerSession session)
    {
        public PeerSession Session { get; } = session;

        public int InFlight { get; set; }

        public bool Banned { get; set; }
    }

    private sealed class PartialFileSource(Downloader owner) : IChunkSource
    {
        public bool Has(int chunkIndex) => chunkIndex >= 0 && chunkIndex < owner._done.Length && Volatile.Read(ref owner._done[chunkIndex]);

        public async ValueTask<ReadOnlyMemory<byte>?> GetAsync(int chunkIndex, CancellationToken cancellationToken)
        {
            if (!Has(chunkIndex))
            {
                return null;
            }

            var buffer = new byte[owner.Manifest.ChunkLength(chunkIndex)];
            var read = await RandomAccess.ReadAsync(owner._file, buffer, owner.Manifest.ChunkOffset(chunkIndex), cancellationToken).ConfigureAwait(false);
            return read == buffer.Length ? buffer : null;
        }
    }
}
