using System.Buffers;

namespace WebRtcCdn.Rtc.Sctp;

/// <summary>
/// A received user message. Its payload lives in a pooled buffer that counts against the receive window
/// until the application hands it back with <see cref="SctpAssociation.Release(SctpMessage)"/>: that is
/// how a slow reader shrinks the window and stops the sender.
/// </summary>
public sealed class SctpMessage
{
    private readonly bool _pooled;
    private byte[]? _buffer;

    /// <param name="pooled">The buffer came from <see cref="ArrayPool{T}.Shared"/> and goes back on release; otherwise it
    /// is the message's own array, which the application may keep (<see cref="OwnedArray"/>).</param>
    internal SctpMessage(ushort streamId, uint ppid, bool unordered, byte[] buffer, int length, bool pooled = true)
    {
        _pooled = pooled;
        StreamId = streamId;
        Ppid = ppid;
        Unordered = unordered;
        _buffer = buffer;
        Length = length;
    }

    public ushort StreamId { get; }

    public uint Ppid { get; }

    public bool Unordered { get; }

    public int Length { get; }

    /// <summary>The bytes; valid until released.</summary>
    public ReadOnlyMemory<byte> Payload => _buffer is null ? throw new ObjectDisposedException(nameof(SctpMessage)) : _buffer.AsMemory(0, Length);

    public ReadOnlySpan<byte> Span => Payload.Span;

    internal bool IsReleased => _buffer is null;

    /// <summary>The payload array when it is not pooled and holds exactly the message: the application may keep it
    /// after release (releasing then only reopens the window).</summary>
    internal byte[]? OwnedArray => !_pooled && _buffer is { } b && b.Length == Length ? b : null;

    internal bool ReturnBuffer()
    {
        var b = _buffer;
        if (b is null)
        {
            return false;
        }

        _buffer = null;
        if (_pooled)
        {
            ArrayPool<byte>.Shared.Return(b);
        }

        return true;
    }
}
