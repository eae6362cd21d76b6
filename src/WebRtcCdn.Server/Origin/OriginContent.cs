using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Storage;

namespace WebRtcCdn.Server.Origin;

/// <summary>
/// The origin's content: the chunk store (opened on first use, so a server that never serves content never
/// touches the disk), publishing into it, and signature policy (content.publisher_signing_key signs what is
/// published here; content.publisher_public_key hides stored manifests that it did not sign).
/// </summary>
public sealed class OriginContent : IDisposable
{
    private readonly ContentOptions _options;
    private readonly int _chunkSize;
    private readonly ILogger<OriginContent> _logger;
    private readonly Lazy<ChunkStore> _store;
    private readonly ECDsa? _signingKey;
    private readonly ECDsa? _publicKey;

    public OriginContent(WebRtcCdnOptions options, ILogger<OriginContent> logger, TimeProvider? time = null)
    {
        _options = options.Content;
        _chunkSize = options.P2P.ChunkSize;
        _logger = logger;
        _signingKey = _options.PublisherSigningKey.Length > 0 ? ManifestSignature.LoadPem(_options.PublisherSigningKey) : null;
        _publicKey = _options.PublisherPublicKey.Length > 0 ? ManifestSignature.LoadPem(_options.PublisherPublicKey) : null;
        _store = new Lazy<ChunkStore>(() => OpenStore(time ?? TimeProvider.System), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public ChunkStore Store => _store.Value;

    public ContentOptions Options => _options;

    /// <summary>The manifest of stored content, or null (unknown, or not signed by the configured publisher key).</summary>
    public Manifest? GetManifest(ContentId id)
    {
        var manifest = Store.GetManifest(id);
        return manifest is not null && (_publicKey is null || ManifestSignature.Verify(manifest, _publicKey)) ? manifest : null;
    }

    /// <summary>
    /// Chunks, hashes and stores a stream (one chunk in memory at a time), then saves its manifest, signed when a
    /// signing key is configured. Throws <see cref="FormatException"/> for a bad name or type or too much data.
    /// </summary>
    public async Task<Manifest> PublishAsync(Stream source, string name, string mediaType, StoredContentKind kind, CancellationToken cancellationToken)
    {
        var store = Store;
        var pinned = kind == StoredContentKind.Published && _options.PinPublished;
        var publisher = new ContentPublisher(_chunkSize, (_, hash, data, ct) => store.PutAsync(hash, data, pinned, trusted: true, ct));
        var manifest = await publisher.PublishAsync(source, name, mediaType, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (_signingKey is not null)
        {
            manifest = ManifestSignature.Sign(manifest, _signingKey);
        }

        await store.SaveManifestAsync(manifest, kind, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("Stored {Kind} content {ContentId} ({Name}, {Size} bytes, {Chunks} chunks)", kind, manifest.Id, manifest.Name, manifest.Size, manifest.ChunkCount);
        return manifest;
    }

    /// <summary>True when every chunk of the manifest is in the store now (it may still be evicted later).</summary>
    public bool IsComplete(Manifest manifest) => manifest.Chunks.All(Store.Contains);

    public void Dispose()
    {
        if (_store.IsValueCreated)
        {
            _store.Value.Dispose();
        }

        _signingKey?.Dispose();
        _publicKey?.Dispose();
    }

    private ChunkStore OpenStore(TimeProvider time)
    {
        var store = ChunkStore.Open(
            new ChunkStoreOptions
            {
                Directory = _options.EffectiveStorePath,
                MemoryCacheSize = _options.MemoryCacheSize,
                MaxDiskSize = _options.MaxCacheSize,
                ChunkTtl = _options.ChunkTtl,
                PinPublished = _options.PinPublished,
            },
            time);
        store.ChunkCorrupted += (_, e) => _logger.LogWarning("Evicted corrupt chunk {Hash} ({Path}): {Reason}", e.Hash, e.Path, e.Reason);
        _logger.LogInformation("Chunk store {Path}: {Chunks} chunks, {Bytes} bytes, {Manifests} manifests", _options.EffectiveStorePath, store.ChunkCount, store.DiskBytes, store.Manifests.Count);
        if (_publicKey is not null)
        {
            foreach (var manifest in store.Manifests.Where(m => !ManifestSignature.Verify(m, _publicKey)))
            {
                _logger.LogWarning("Content {ContentId} ({Name}) is not signed by the configured publisher key; it is not served", manifest.Id, manifest.Name);
            }
        }

        return store;
    }
}
