using System.Buffers;

namespace WebRtcCdn.Core.Content;

/// <summary>
/// Turns a byte stream into a <see cref="Manifest"/>: reads it chunk by chunk into one pooled buffer, hashes
/// each chunk, and hands it to an optional sink (the chunk store) before reading the next. Memory use is one
/// chunk whatever the stream's length, so a 4 GiB file needs about 1 MiB.
/// </summary>
public sealed class ContentPublisher
{
    /// <summary>Receives each chunk with its hash; the buffer is reused after the returned task completes.</summary>
    public delegate ValueTask ChunkSink(int index, Sha256Digest hash, ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    private readonly int _chunkSize;
    private readonly ChunkSink? _sink;

    public ContentPublisher(int chunkSize = Manifest.DefaultChunkSize, ChunkSink? sink = null)
    {
        if (chunkSize is < Manifest.MinChunkSize or > Manifest.MaxChunkSize)
        {
            throw new ArgumentOutOfRangeException(nameof(chunkSize), chunkSize, $"chunk size must be within {Manifest.MinChunkSize}..{Manifest.MaxChunkSize}");
        }

        _chunkSize = chunkSize;
        _sink = sink;
    }

    /// <summary>
    /// Reads <paramref name="source"/> to its end. <paramref name="progress"/> receives the bytes read so far
    /// after each chunk. Throws <see cref="FormatException"/> when the content is too large for a manifest.
    /// </summary>
    public async Task<Manifest> PublishAsync(Stream source, string name, string mediaType, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        // Fail before reading gigabytes when the name or type is wrong.
        var early = Manifest.Validate(name, mediaType, 0, _chunkSize, 0, null);
        if (early is not null)
        {
            throw new FormatException(early);
        }

        var hashes = new List<Sha256Digest>();
        var buffer = ArrayPool<byte>.Shared.Rent(_chunkSize);
        long size = 0;
        try
        {
            while (true)
            {
                var filled = await source.ReadAtLeastAsync(buffer.AsMemory(0, _chunkSize), _chunkSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                if (filled == 0)
                {
                    break;
                }

                if (hashes.Count >= Manifest.MaxChunks)
                {
                    throw new FormatException($"content is larger than {Manifest.MaxChunks} chunks of {_chunkSize} bytes");
                }

                var hash = Sha256Digest.Compute(buffer.AsSpan(0, filled));
                if (_sink is not null)
                {
                    await _sink(hashes.Count, hash, buffer.AsMemory(0, filled), cancellationToken).ConfigureAwait(false);
                }

                hashes.Add(hash);
                size += filled;
                progress?.Report(size);
                if (filled < _chunkSize)
                {
                    break;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return Manifest.Create(name, mediaType, size, _chunkSize, hashes);
    }
}
