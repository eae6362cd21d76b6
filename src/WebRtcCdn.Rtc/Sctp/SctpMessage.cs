using System.Buffers;

namespace WebRtcCdn.Rtc.Sctp;

/// <summary>
/// A received user message. Its payload lives in a pooled buffer that counts against the receive window
/// until the application hands it back with <see cref="SctpAssociation.Release(SctpMessage)"/>: that is
/// how a slow reader shrinks the window and stops the sender.
/// </summary>
public sealed class SctpMessage
{
    private byte[]? _buffer;

    internal SctpMessage(ushort streamId, uint ppid, bool unordered, byte[] buffer, int length)
    {
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

    internal bool ReturnBuffer()
    {
        var b = _buffer;
        if (b is null)
        {
            return false;
        }

        _buffer = null;
        ArrayPool<byte>.Shared.Return(b);
        return true;
    }
}
