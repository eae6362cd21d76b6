using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Core.Storage;
using WebRtcCdn.Server.Origin;

namespace WebRtcCdn.Server.Edge;

/// <summary>
/// The edge serves chunks of one content item from the server's chunk store (verified on read by the store). A chunk
/// the store lacks (evicted cached content) is pulled through: the content is fetched again from upstream through
/// <see cref="PullThrough"/> (single-flight, every chunk hashed against the manifest on the way in), then served. HELLO
/// advertises only what is held (or what another peer of the edge holds, see <see cref="EdgePeerPull"/>); a REQUEST for a
/// pullable chunk is taken. A chunk neither held nor pulled through from upstream is pulled from a peer that holds it.
/// </summary>
internal sealed class StoreChunkSource : IChunkSource
{
    private readonly OriginContent _content;
    private readonly Manifest _manifest;
    private readonly PullThrough? _pull;
    private readonly EdgePeerPull? _peers;
    private readonly Uri? _upstream;

    public StoreChunkSource(OriginContent content, Manifest manifest, PullThrough? pull = null, EdgePeerPull? peers = null)
    {
        _content = content;
        _manifest = manifest;
        _pull = pull;
        _peers = peers;
        if (pull is { Enabled: true } && content.Store.GetKind(manifest.Id) == StoredContentKind.Cached
            && content.Store.FindAliasKey(manifest.Id) is { } key && Uri.TryCreate(key, UriKind.Absolute, out var url))
        {
            _upstream = url;
        }
    }

    /// <summary>Held in the store now.</summary>
    public bool Holds(int chunkIndex) =>
        chunkIndex >= 0 && chunkIndex < _manifest.ChunkCount && _content.Store.Contains(_manifest.Chunks[chunkIndex]);

    /// <summary>Advertised: held, or held by another peer of the edge (pulled on request).</summary>
    public bool Has(int chunkIndex) => Holds(chunkIndex) || (_peers is not null && chunkIndex >= 0 && chunkIndex < _manifest.ChunkCount && _peers.Reachable(_manifest.Id, chunkIndex));

    public bool CanServe(int chunkIndex) => Has(chunkIndex) || (_upstream is not null && chunkIndex >= 0 && chunkIndex < _manifest.ChunkCount);

    public async ValueTask<ReadOnlyMemory<byte>?> GetAsync(int chunkIndex, CancellationToken cancellationToken)
    {
        if (chunkIndex < 0 || chunkIndex >= _manifest.ChunkCount)
        {
            return null;
        }

        var hash = _manifest.Chunks[chunkIndex];
        // One store lookup: GetAsync is null for a chunk the store lacks, and for a corrupt one (which it evicts), so asking
        // Contains first (through CanServe, then Holds) only looked the chunk up two more times.
        var data = await _content.Store.GetAsync(hash, cancellationToken).ConfigureAwait(false);
        if (data is null && _upstream is not null && _pull is not null)
        {
            data = await FromUpstreamAsync(hash, cancellationToken).ConfigureAwait(false);
        }

        if (data is null && _peers is not null && _peers.Reachable(_manifest.Id, chunkIndex))
        {
            data = await _peers.PullAsync(_manifest, chunkIndex, cancellationToken).ConfigureAwait(false);
        }

        return data;
    }

    private async Task<ReadOnlyMemory<byte>?> FromUpstreamAsync(Sha256Digest hash, CancellationToken cancellationToken)
    {
        try
        {
            var again = await _pull!.GetAsync(_upstream!, cancellationToken).ConfigureAwait(false);
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
