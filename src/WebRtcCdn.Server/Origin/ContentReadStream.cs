using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Storage;

namespace WebRtcCdn.Server.Origin;

/// <summary>
/// A read-only, seekable view of one piece of content, read chunk by chunk from the store (each chunk verified
/// by the store), so ASP.NET Core's range processing can serve the whole file and byte ranges from it while
/// holding at most one chunk.
/// </summary>
internal sealed class ContentReadStream(ChunkStore store, Manifest manifest) : Stream
{
    private int _chunkIndex = -1;
    private ReadOnlyMemory<byte> _chunk;
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => manifest.Size;

    public override long Position
    {
        get => _position;
        set => Seek(value, SeekOrigin.Begin);
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => manifest.Size + offset,
        };
        ArgumentOutOfRangeException.ThrowIfNegative(target, nameof(offset));
        _position = target;
        return target;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position >= manifest.Size || buffer.Length == 0)
        {
            return 0;
        }

        var index = (int)(_position / manifest.ChunkSize);
        if (index != _chunkIndex)
        {
            // A chunk that vanished or failed verification after the request started: abort the response rather
            // than send wrong bytes (the client sees a truncated transfer, never corrupt data).
            _chunk = await store.GetAsync(manifest.Chunks[index], cancellationToken).ConfigureAwait(false)
                ?? throw new IOException($"chunk {index} of {manifest.Id} is no longer available");
            _chunkIndex = index;
        }

        var offset = (int)(_position - manifest.ChunkOffset(index));
        var count = Math.Min(buffer.Length, _chunk.Length - offset);
        _chunk.Slice(offset, count).CopyTo(buffer);
        _position += count;
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
