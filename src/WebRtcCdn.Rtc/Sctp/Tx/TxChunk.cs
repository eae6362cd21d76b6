namespace WebRtcCdn.Rtc.Sctp.Tx;

internal enum TxChunkState : byte
{
    InFlight,
    Acked,
    Lost,
    Abandoned,
}

/// <summary>A DATA chunk that has a TSN and is not yet cumulatively acknowledged: a slice of its message.</summary>
internal struct TxChunk
{
    public OutgoingMessage Message;
    public int Offset;
    public int Length;
    public ushort Ssn;

    /// <summary>DATA chunk flags: U (0x04), B (0x02), E (0x01).</summary>
    public byte Flags;
    public TxChunkState State;
    public int Transmissions;
    public int Misses;

    /// <summary>Retransmitted as a tail-loss probe (its acknowledgement may feed RACK).</summary>
    public bool IsProbe;
    public TimeSpan SentAt;
}
