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
    private readonly TimeProvider _time;
    private readonly Lock _openGate = new();
    private ChunkStore? _store;
    private readonly ECDsa? _signingKey;
    private readonly ECDsa? _publicKey;

    public OriginContent(WebRtcCdnOptions options, ILogger<OriginContent> logger, TimeProvider? time = null)
    {
        _options = options.Content;
        _chunkSize = options.P2P.ChunkSize;
        _logger = logger;
        _signingKey = _options.PublisherSigningKey.Length > 0 ? ManifestSignature.LoadPem(_options.PublisherSigningKey) : null;
        _publicKey = _options.PublisherPublicKey.Length > 0 ? ManifestSignature.LoadPem(_options.PublisherPublicKey) : null;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// The chunk store, opened on first use. Throws <see cref="StoreUnavailableException"/> when it cannot be
    /// opened (in use by another process, permissions); the next use tries again.
    /// </summary>
    public ChunkStore Store
    {
        get
        {
            if (Volatile.Read(ref _store) is { } store)
            {
                return store;
            }

            lock (_openGate)
            {
                if (_store is null)
                {
                    try
                    {
                        _store = OpenStore(_time);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        _logger.LogError("Cannot open the chunk store {Path}: {Reason}", _options.EffectiveStorePath, e.Message);
                        throw new StoreUnavailableException($"the chunk store '{_options.EffectiveStorePath}' cannot be opened: {e.Message}", e);
                    }
                }

                return _store;
            }
        }
    }

    public ContentOptions Options => _options;

    /// <summary>Content was stored (published or pulled through); the edge joins its swarm.</summary>
    public event Action<Manifest>? Published;

    /// <summary>The store if it has been opened, else null (never opens it).</summary>
    public ChunkStore? OpenedStore => Volatile.Read(ref _store);

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
        Published?.Invoke(manifest);
        _logger.LogInformation("Stored {Kind} content {ContentId} ({Name}, {Size} bytes, {Chunks} chunks)", kind, manifest.Id, manifest.Name, manifest.Size, manifest.ChunkCount);
        return manifest;
    }

    /// <summary>True when every chunk of the manifest is in the store now (it may still be evicted later).</summary>
    public bool IsComplete(Manifest manifest) => manifest.Chunks.All(Store.Contains);

    public void Dispose()
    {
        lock (_openGate)
        {
            _store?.Dispose();
            _store = null;
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
