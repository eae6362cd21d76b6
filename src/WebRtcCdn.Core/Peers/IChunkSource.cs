namespace WebRtcCdn.Core.Peers;

/// <summary>Where a serving session gets chunk bytes (the chunk store, a partial download, the edge's pull-through).</summary>
public interface IChunkSource
{
    /// <summary>Whether the chunk is held now (announced in HELLO, checked on every REQUEST).</summary>
    bool Has(int chunkIndex);

    /// <summary>
    /// Whether a REQUEST for the chunk is accepted: held now, or obtainable on demand (the edge's pull-through).
    /// HELLO advertises only <see cref="Has"/>; what is served on request may be more.
    /// </summary>
    bool CanServe(int chunkIndex) => Has(chunkIndex);

    /// <summary>The chunk's verified bytes, or null when it is not available (any more).</summary>
    ValueTask<ReadOnlyMemory<byte>?> GetAsync(int chunkIndex, CancellationToken cancellationToken);
}
