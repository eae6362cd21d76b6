namespace WebRtcCdn.Server.Origin;

/// <summary>
/// Wraps a response body and adds every written byte to <see cref="OriginEgress"/>. Bytes are counted as they are
/// handed to the response, before the write completes: a client may hold the bytes before the write's continuation
/// runs, and the counter must never lag what a client has received (the tests and the swarm bench read it right
/// after a download). A write that fails (the client went away) has still been counted: at most one write's worth.
/// </summary>
internal sealed class CountingStream(Stream inner, OriginEgress egress) : Stream
{
    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count)
    {
        egress.AddBytes(count);
        inner.Write(buffer, offset, count);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        egress.AddBytes(buffer.Length);
        await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
}
