using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Core.Storage;
using WebRtcCdn.Server.Origin;

namespace WebRtcCdn.Server.Edge;

/// <summary>
/// The edge serves chunks of one content item from the server's chunk store (verified on read by the store). A chunk
/// the store lacks (evicted cached content) is pulled through: the content is fetched again from upstream through
/// <see cref="PullThrough"/> (single-flight, every chunk hashed against the manifest on the way in), then served. HELLO
/// advertises only what is held; a REQUEST for a pullable chunk is taken.
/// </summary>
internal sealed class StoreChunkSource : IChunkSource
{
    private readonly OriginContent _content;
    private readonly Manifest _manifest;
    private readonly PullThrough? _pull;
    private readonly Uri? _upstream;

    public StoreChunkSource(OriginContent content, Manifest manifest, PullThrough? pull = null)
    {
        _content = content;
        _manifest = manifest;
        _pull = pull;
        if (pull is { Enabled: true } && content.Store.GetKind(manifest.Id) == StoredContentKind.Cached
            && content.Store.FindAliasKey(manifest.Id) is { } key && Uri.TryCreate(key, UriKind.Absolute, out var url))
        {
            _upstream = url;
        }
    }

    public bool Has(int chunkIndex) =>
        chunkIndex >= 0 && chunkIndex < _manifest.ChunkCount && _content.Store.Contains(_manifest.Chunks[chunkIndex]);

    public bool CanServe(int chunkIndex) => Has(chunkIndex) || (_upstream is not null && chunkIndex >= 0 && chunkIndex < _manifest.ChunkCount);

    public async ValueTask<ReadOnlyMemory<byte>?> GetAsync(int chunkIndex, CancellationToken cancellationToken)
    {
        if (!CanServe(chunkIndex))
        {
            return null;
        }

        var hash = _manifest.Chunks[chunkIndex];
        // The store verifies what it reads: a corrupt chunk comes back null (and is evicted), like a missing one.
        var data = Has(chunkIndex) ? await _content.Store.GetAsync(hash, cancellationToken).ConfigureAwait(false) : null;
        if (data is not null || _upstream is null || _pull is null)
        {
            return data;
        }

        try
        {
            var again = await _pull.GetAsync(_upstream, cancellationToken).ConfigureAwait(false);
            if (again.Id != _manifest.Id)
            {
                return null; // upstream changed: other bytes under that path now, not this content's
            }
        }
        catch (UpstreamException)
        {
            return null;
        }

        return await _content.Store.GetAsync(hash, cancellationToken).ConfigureAwait(false);
    }
}
