namespace WebRtcCdn.Core.Storage;

/// <summary>Bounds and location of a <see cref="ChunkStore"/> (bound from the content.* configuration keys).</summary>
public sealed class ChunkStoreOptions
{
    /// <summary>The disk tier's directory; created when missing. One process at a time owns it (store.lock).</summary>
    public required string Directory { get; init; }

    /// <summary>Bytes of verified chunks kept in memory (LRU). 0 disables the memory tier.</summary>
    public long MemoryCacheSize { get; init; } = 256L << 20;

    /// <summary>Bytes of chunk files on disk. Unpinned chunks are evicted least recently used first.</summary>
    public long MaxDiskSize { get; init; } = 10L << 30;

    /// <summary>Unpinned chunks expire this long after they were stored.</summary>
    public TimeSpan ChunkTtl { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Whether chunks of published content are pinned (never evicted or expired).</summary>
    public bool PinPublished { get; init; } = true;
}
