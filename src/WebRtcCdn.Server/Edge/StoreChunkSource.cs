using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Server.Origin;

namespace WebRtcCdn.Server.Edge;

/// <summary>The edge serves chunks of one content item from the server's chunk store (verified on read by the store).</summary>
internal sealed class StoreChunkSource(OriginContent content, Manifest manifest) : IChunkSource
{
    public bool Has(int chunkIndex) =>
        chunkIndex >= 0 && chunkIndex < manifest.ChunkCount && content.Store.Contains(manifest.Chunks[chunkIndex]);

    public async ValueTask<ReadOnlyMemory<byte>?> GetAsync(int chunkIndex, CancellationToken cancellationToken) =>
        Has(chunkIndex) ? await content.Store.GetAsync(manifest.Chunks[chunkIndex], cancellationToken).ConfigureAwait(false) : null;
}
