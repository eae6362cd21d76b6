using System.Buffers;

namespace WebRtcCdn.Rtc.Sctp.Tx;

/// <summary>
/// One user message on its way out. The payload is either a pooled copy of the caller's span (copied once,
/// at Send) or the caller's own memory, retained without a copy. Fragments reference it by offset, so bytes
/// go from here straight into the outgoing packet.
/// </summary>
internal sealed class OutgoingMessage
{
    private byte[]? _rented;

    public OutgoingMessage(ushort streamId, uint ppid, SendOptions options, ReadOnlyMemory<byte> payload, byte[]? rented, TimeSpan now)
    {
        StreamId = streamId;
        Ppid = ppid;
        Unordered = options.Unordered;
        MaxRetransmits = options.MaxRetransmits;
        ExpiresAt = options.MaxLifetime is { } life ? now + life : null;
        Payload = payload;
        _rented = rented;
    }

    public ushort StreamId { get; }

    public uint Ppid { get; }

    public bool Unordered { get; }

    public int? MaxRetransmits { get; }

    public TimeSpan? ExpiresAt { get; }

    public ReadOnlyMemory<byte> Payload { get; }

    public bool IsPartiallyReliable => MaxRetransmits.HasValue || ExpiresAt.HasValue;

    /// <summary>Bytes already cut into DATA chunks (each with a TSN).</summary>
    public int NextOffset { get; set; }

    public ushort Ssn { get; set; }

    /// <summary>DATA chunks in the retransmission queue still referencing this message.</summary>
    public int ChunksOutstanding { get; set; }

    public bool Abandoned { get; set; }

    public bool FullyFragmented => NextOffset >= Payload.Length;

    /// <summary>Returns the pooled copy once nothing references the bytes any more.</summary>
    public void ReleaseIfDone()
    {
        if (ChunksOutstanding == 0 && (FullyFragmented || Abandoned) && _rented is { } r)
        {
            _rented = null;
            ArrayPool<byte>.Shared.Return(r);
        }
    }
}
