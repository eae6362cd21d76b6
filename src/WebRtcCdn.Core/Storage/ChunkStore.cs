using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text;
using WebRtcCdn.Core.Content;

namespace WebRtcCdn.Core.Storage;

/// <summary>
/// Content-addressed chunk storage: a memory tier (LRU, bounded by bytes) over a disk tier (bounded by
/// bytes, unpinned entries expire after a TTL and are evicted least recently used first), plus the
/// manifests of stored content.
/// </summary>
/// <remarks>
/// Crash safety: a chunk is written to a temporary file and renamed into place, so a chunk file either
/// exists complete or not at all after a process crash; temporary files are deleted at start-up, when the
/// index is rebuilt from the directory. Integrity: every read from disk is hashed and compared with the
/// chunk's name; a mismatch (bit rot, a torn write after power loss, tampering) evicts the file, raises
/// <see cref="ChunkCorrupted"/> and reads as a miss, so a corrupt chunk is never returned. That check is why
/// writes are not fsync'ed: durability of the last writes after power loss is traded for throughput, but
/// integrity is not. Concurrency: one lock guards the index, renames and deletions; file reads, writes and
/// hashing run outside it.
/// </remarks>
public sealed class ChunkStore : IDisposable
{
    public const string MeterName = "WebRtcCdn.Storage";

    /// <summary>Sweeping expired entries is O(entries); at most this often (bounded by the TTL too).</summary>
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);

    private readonly ChunkStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly string _chunkDir;
    private readonly string _publishedDir;
    private readonly string _cachedDir;
    private readonly string _aliasDir;
    private readonly FileStream _lock;
    private readonly Lock _gate = new();
    private readonly Dictionary<Sha256Digest, DiskEntry> _disk = [];
    private readonly LinkedList<DiskEntry> _diskLru = new();
    private readonly Dictionary<Sha256Digest, LinkedListNode<(Sha256Digest Hash, byte[] Data)>> _memory = [];
    private readonly LinkedList<(Sha256Digest Hash, byte[] Data)> _memoryLru = new();
    private readonly Dictionary<ContentId, (Manifest Manifest, StoredContentKind Kind)> _manifests = [];
    private readonly Dictionary<Sha256Digest, int> _pinCounts = [];
    private readonly Dictionary<string, ContentId> _aliases = new(StringComparer.Ordinal);
    private readonly Meter _meter;
    private readonly Counter<long> _corruptCounter;
    private long _diskBytes;
    private long _memoryBytes;
    private long _corruptCount;
    private DateTimeOffset _lastSweep;

    private ChunkStore(ChunkStoreOptions options, TimeProvider time, FileStream lockFile)
    {
        _options = options;
        _time = time;
        _lock = lockFile;
        _chunkDir = Path.Combine(options.Directory, "chunks");
        _publishedDir = Path.Combine(options.Directory, "published");
        _cachedDir = Path.Combine(options.Directory, "cached");
        _aliasDir = Path.Combine(options.Directory, "aliases");
        _meter = new Meter(MeterName);
        _corruptCounter = _meter.CreateCounter<long>("webrtc_cdn.store.corrupt_chunks", description: "Chunk files that failed hash verification and were evicted");
        _meter.CreateObservableGauge("webrtc_cdn.store.disk_bytes", () => Interlocked.Read(ref _diskBytes), "By");
        _meter.CreateObservableGauge("webrtc_cdn.store.memory_bytes", () => Interlocked.Read(ref _memoryBytes), "By");
    }

    /// <summary>Raised (on the reading thread) when a chunk file failed verification and was evicted.</summary>
    public event EventHandler<CorruptChunkEventArgs>? ChunkCorrupted;

    public long DiskBytes => Interlocked.Read(ref _diskBytes);

    public long MemoryBytes => Interlocked.Read(ref _memoryBytes);

    public long CorruptChunks => Interlocked.Read(ref _corruptCount);

    public int ChunkCount
    {
        get
        {
            lock (_gate)
            {
                return _disk.Count;
            }
        }
    }

    /// <summary>
    /// Opens (creating when needed) the store directory and rebuilds the index from it. Throws
    /// <see cref="IOException"/> with a clear message when another process has the directory open.
    /// </summary>
    public static ChunkStore Open(ChunkStoreOptions options, TimeProvider? time = null)
    {
        Directory.CreateDirectory(options.Directory);
        FileStream lockFile;
        try
        {
            // FileShare.None is an exclusive advisory lock (flock) on Unix: a second server or CLI on the same
            // directory would delete the first one's temporary files and race its evictions.
            lockFile = new FileStream(Path.Combine(options.Directory, "store.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new IOException($"chunk store '{options.Directory}' is in use by another process (or this one): {e.Message}", e);
        }

        var store = new ChunkStore(options, time ?? TimeProvider.System, lockFile);
        try
        {
            store.Rebuild();
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    public bool Contains(Sha256Digest hash)
    {
        lock (_gate)
        {
            return _disk.ContainsKey(hash);
        }
    }

    /// <summary>
    /// Stores a chunk. Unless <paramref name="trusted"/> (the caller just hashed these very bytes), the data is
    /// hashed first and refused with <see cref="InvalidDataException"/> when it does not match.
    /// A pinned chunk is never evicted or expired; an already stored chunk is only touched (and pinned).
    /// </summary>
    public async ValueTask PutAsync(Sha256Digest hash, ReadOnlyMemory<byte> data, bool pinned, bool trusted = false, CancellationToken cancellationToken = default)
    {
        if (data.Length == 0 || data.Length > Manifest.MaxChunkSize)
        {
            throw new ArgumentException($"a chunk is 1..{Manifest.MaxChunkSize} bytes, not {data.Length}", nameof(data));
        }

        if (!trusted && Sha256Digest.Compute(data.Span) != hash)
        {
            throw new InvalidDataException($"chunk data does not match its hash {hash}");
        }

        lock (_gate)
        {
            if (_disk.TryGetValue(hash, out var existing))
            {
                if (pinned)
                {
                    Pin(existing);
                }
                else
                {
                    Touch(existing);
                }

                return;
            }
        }

        var path = ChunkPath(hash);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.tmp";
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
            {
                await file.WriteAsync(data, cancellationToken).ConfigureAwait(false);
            }

            var now = _time.GetUtcNow();
            File.SetLastWriteTimeUtc(temp, now.UtcDateTime);
            List<DiskEntry> evicted;
            lock (_gate)
            {
                // Rename under the lock so that an eviction of the same hash cannot delete the new file.
                File.Move(temp, path, overwrite: true);
                if (!_disk.TryGetValue(hash, out var entry))
                {
                    entry = new DiskEntry(hash, data.Length, now);
                    _disk.Add(hash, entry);
                    _diskBytes += data.Length;
                    entry.Node = _diskLru.AddLast(entry);
                }

                if (pinned || _pinCounts.ContainsKey(hash))
                {
                    Pin(entry);
                }

                evicted = EvictLocked(now);
            }

            RememberInMemory(hash, data, null);
            foreach (var e in evicted)
            {
                TryDelete(ChunkPath(e.Hash));
            }
        }
        finally
        {
            TryDelete(temp);
        }
    }

    /// <summary>
    /// Returns the chunk's bytes (verified against <paramref name="hash"/>), or null when absent, expired or
    /// corrupt. The returned memory must not be modified: it may be shared with the memory tier.
    /// </summary>
    public async ValueTask<ReadOnlyMemory<byte>?> GetAsync(Sha256Digest hash, CancellationToken cancellationToken = default)
    {
        DiskEntry? entry;
        lock (_gate)
        {
            if (!_disk.TryGetValue(hash, out entry))
            {
                return null;
            }

            if (IsExpired(entry, _time.GetUtcNow()))
            {
                RemoveLocked(entry);
                TryDelete(ChunkPath(hash));
                return null;
            }

            Touch(entry);
            if (_memory.TryGetValue(hash, out var node))
            {
                _memoryLru.Remove(node);
                _memoryLru.AddLast(node);
                return node.Value.Data;
            }
        }

        var path = ChunkPath(hash);
        byte[] data;
        try
        {
            await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
            var length = file.Length;
            if (length != entry.Length || length > Manifest.MaxChunkSize)
            {
                ReportCorrupt(entry, path, $"file is {length} bytes, the index says {entry.Length}");
                return null;
            }

            data = new byte[length];
            await file.ReadExactlyAsync(data, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            lock (_gate)
            {
                if (_disk.TryGetValue(hash, out var current) && ReferenceEquals(current, entry))
                {
                    RemoveLocked(entry);
                }
            }

            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ReportCorrupt(entry, path, $"unreadable: {e.Message}");
            return null;
        }

        if (Sha256Digest.Compute(data) != hash)
        {
            ReportCorrupt(entry, path, "content does not match its SHA-256");
            return null;
        }

        RememberInMemory(hash, data, data);
        return data;
    }

    /// <summary>Saves a manifest (atomically, like chunks). Published content pins its chunks when configured to.</summary>
    public async Task SaveManifestAsync(Manifest manifest, StoredContentKind kind, CancellationToken cancellationToken = default)
    {
        var dir = kind == StoredContentKind.Published ? _publishedDir : _cachedDir;
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, manifest.Id + ".json");
        await WriteAtomicallyAsync(path, manifest.ToJson(), cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            AddManifestLocked(manifest, kind);
        }
    }

    public Manifest? GetManifest(ContentId id)
    {
        lock (_gate)
        {
            return _manifests.TryGetValue(id, out var m) ? m.Manifest : null;
        }
    }

    public StoredContentKind? GetKind(ContentId id)
    {
        lock (_gate)
        {
            return _manifests.TryGetValue(id, out var m) ? m.Kind : null;
        }
    }

    public IReadOnlyList<Manifest> Manifests
    {
        get
        {
            lock (_gate)
            {
                return [.. _manifests.Values.Select(m => m.Manifest)];
            }
        }
    }

    /// <summary>Remembers that <paramref name="key"/> (an upstream URL) is content <paramref name="id"/>; survives restarts.</summary>
    public async Task SetAliasAsync(string key, ContentId id, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(_aliasDir);
        var name = Sha256Digest.Compute(Encoding.UTF8.GetBytes(key)).ToHex();
        await WriteAtomicallyAsync(Path.Combine(_aliasDir, name), Encoding.UTF8.GetBytes($"{id}\n{key}"), cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _aliases[key] = id;
        }
    }

    public ContentId? GetAlias(string key)
    {
        lock (_gate)
        {
            return _aliases.TryGetValue(key, out var id) ? id : null;
        }
    }

    /// <summary>The alias key (upstream URL) that names <paramref name="id"/>, or null.</summary>
    public string? FindAliasKey(ContentId id)
    {
        lock (_gate)
        {
            foreach (var (key, value) in _aliases)
            {
                if (value == id)
                {
                    return key;
                }
            }

            return null;
        }
    }

    /// <summary>Deletes expired unpinned chunks now (also done during writes, at most once per minute).</summary>
    public void SweepExpired()
    {
        List<DiskEntry> expired;
        lock (_gate)
        {
            expired = SweepLocked(_time.GetUtcNow());
        }

        foreach (var e in expired)
        {
            TryDelete(ChunkPath(e.Hash));
        }
    }

    public void Dispose()
    {
        _meter.Dispose();
        _lock.Dispose();
    }

    private string ChunkPath(Sha256Digest hash)
    {
        var hex = hash.ToHex();
        // 256 sub-directories keep directory sizes reasonable for millions of chunks.
        return Path.Combine(_chunkDir, hex[..2], hex);
    }

    private void Rebuild()
    {
        Directory.CreateDirectory(_chunkDir);
        foreach (var file in new DirectoryInfo(_chunkDir).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            if (!Sha256Digest.TryParseHex(file.Name, out var hash) || file.Directory?.Name != file.Name[..2])
            {
                // Temporary files of writes a crash interrupted, or foreign files: never indexed, never served.
                TryDelete(file.FullName);
                continue;
            }

            if (file.Length == 0 || file.Length > Manifest.MaxChunkSize)
            {
                TryDelete(file.FullName);
                continue;
            }

            var entry = new DiskEntry(hash, (int)file.Length, new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero));
            _disk[hash] = entry;
            _diskBytes += entry.Length;
        }

        // Least recently stored first: the best approximation of recency a restart has.
        foreach (var entry in _disk.Values.OrderBy(e => e.StoredAt))
        {
            entry.Node = _diskLru.AddLast(entry);
        }

        LoadManifests(_publishedDir, StoredContentKind.Published);
        LoadManifests(_cachedDir, StoredContentKind.Cached);
        if (Directory.Exists(_aliasDir))
        {
            foreach (var file in Directory.EnumerateFiles(_aliasDir))
            {
                var text = file.EndsWith(".tmp", StringComparison.Ordinal) || new FileInfo(file).Length > 64 << 10 ? string.Empty : File.ReadAllText(file);
                var newline = text.IndexOf('\n', StringComparison.Ordinal);
                if (newline > 0 && ContentId.TryParse(text.AsSpan(0, newline), out var id) && _manifests.ContainsKey(id))
                {
                    _aliases[text[(newline + 1)..]] = id;
                }
                else
                {
                    TryDelete(file);
                }
            }
        }

        List<DiskEntry> evicted;
        lock (_gate)
        {
            evicted = EvictLocked(_time.GetUtcNow());
        }

        foreach (var e in evicted)
        {
            TryDelete(ChunkPath(e.Hash));
        }
    }

    private void LoadManifests(string dir, StoredContentKind kind)
    {
        if (!Directory.Exists(dir))
        {
            return;
        }

        foreach (var file in new DirectoryInfo(dir).EnumerateFiles())
        {
            if (!file.Name.EndsWith(".json", StringComparison.Ordinal) || file.Length > Manifest.MaxJsonBytes
                || !Manifest.TryParse(File.ReadAllBytes(file.FullName), out var manifest, out _)
                || file.Name != manifest!.Id + ".json")
            {
                TryDelete(file.FullName);
                continue;
            }

            AddManifestLocked(manifest, kind);
        }
    }

    private void AddManifestLocked(Manifest manifest, StoredContentKind kind)
    {
        if (_manifests.TryGetValue(manifest.Id, out var existing) && (existing.Kind == kind || existing.Kind == StoredContentKind.Published))
        {
            return;
        }

        _manifests[manifest.Id] = (manifest, kind);
        if (kind == StoredContentKind.Published && _options.PinPublished)
        {
            foreach (var hash in manifest.Chunks.Distinct())
            {
                _pinCounts[hash] = _pinCounts.GetValueOrDefault(hash) + 1;
                if (_disk.TryGetValue(hash, out var entry))
                {
                    Pin(entry);
                }
            }
        }
    }

    private void Pin(DiskEntry entry)
    {
        entry.Pinned = true;
        if (entry.Node is not null)
        {
            _diskLru.Remove(entry.Node);
            entry.Node = null;
        }
    }

    private void Touch(DiskEntry entry)
    {
        if (entry.Node is not null)
        {
            _diskLru.Remove(entry.Node);
            _diskLru.AddLast(entry.Node);
        }
    }

    private bool IsExpired(DiskEntry entry, DateTimeOffset now) => !entry.Pinned && !_pinCounts.ContainsKey(entry.Hash) && now - entry.StoredAt > _options.ChunkTtl;

    private List<DiskEntry> EvictLocked(DateTimeOffset now)
    {
        var removed = now - _lastSweep >= (SweepInterval < _options.ChunkTtl ? SweepInterval : _options.ChunkTtl) ? SweepLocked(now) : [];
        while (_diskBytes > _options.MaxDiskSize && _diskLru.First is { } oldest)
        {
            RemoveLocked(oldest.Value);
            removed.Add(oldest.Value);
        }

        return removed;
    }

    private List<DiskEntry> SweepLocked(DateTimeOffset now)
    {
        _lastSweep = now;
        var expired = _diskLru.Where(e => IsExpired(e, now)).ToList();
        foreach (var e in expired)
        {
            RemoveLocked(e);
        }

        return expired;
    }

    private void RemoveLocked(DiskEntry entry)
    {
        if (_disk.Remove(entry.Hash))
        {
            _diskBytes -= entry.Length;
        }

        if (entry.Node is not null)
        {
            _diskLru.Remove(entry.Node);
            entry.Node = null;
        }

        if (_memory.Remove(entry.Hash, out var node))
        {
            _memoryLru.Remove(node);
            _memoryBytes -= node.Value.Data.Length;
        }
    }

    /// <param name="owned">The same bytes in an array nobody else holds (saves a copy), or null.</param>
    private void RememberInMemory(Sha256Digest hash, ReadOnlyMemory<byte> data, byte[]? owned)
    {
        if (data.Length > _options.MemoryCacheSize)
        {
            return;
        }

        var copy = owned ?? data.ToArray();
        lock (_gate)
        {
            if (_memory.ContainsKey(hash) || !_disk.ContainsKey(hash))
            {
                return;
            }

            _memory[hash] = _memoryLru.AddLast((hash, copy));
            _memoryBytes += copy.Length;
            while (_memoryBytes > _options.MemoryCacheSize && _memoryLru.First is { } oldest)
            {
                _memoryLru.RemoveFirst();
                _memory.Remove(oldest.Value.Hash);
                _memoryBytes -= oldest.Value.Data.Length;
            }
        }
    }

    private void ReportCorrupt(DiskEntry entry, string path, string reason)
    {
        lock (_gate)
        {
            if (_disk.TryGetValue(entry.Hash, out var current) && ReferenceEquals(current, entry))
            {
                RemoveLocked(entry);
                TryDelete(path);
            }
        }

        Interlocked.Increment(ref _corruptCount);
        _corruptCounter.Add(1);
        ChunkCorrupted?.Invoke(this, new CorruptChunkEventArgs(entry.Hash, path, reason));
    }

    private static async Task WriteAtomicallyAsync(string path, byte[] bytes, CancellationToken cancellationToken)
    {
        var temp = $"{path}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.tmp";
        try
        {
            await File.WriteAllBytesAsync(temp, bytes, cancellationToken).ConfigureAwait(false);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            TryDelete(temp);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: an undeletable file is not indexed, so it is never served.
        }
    }

    private sealed class DiskEntry(Sha256Digest hash, int length, DateTimeOffset storedAt)
    {
        public Sha256Digest Hash { get; } = hash;

        public int Length { get; } = length;

        public DateTimeOffset StoredAt { get; } = storedAt;

        public bool Pinned { get; set; }

        public LinkedListNode<DiskEntry>? Node { get; set; }
    }
}
