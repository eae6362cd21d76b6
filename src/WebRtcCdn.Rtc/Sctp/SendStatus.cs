namespace WebRtcCdn.Rtc.Sctp;

/// <summary>Outcome of <see cref="SctpAssociation.Send(ushort, uint, ReadOnlySpan{byte}, SendOptions)"/>.</summary>
public enum SendStatus
{
    Success,

    /// <summary>Zero bytes (SCTP carries no empty DATA: WebRTC sends empty messages as one 0x00 byte with PPID 56/57).</summary>
    EmptyMessage,

    /// <summary>Above the peer's max-message-size.</summary>
    MessageTooLarge,

    /// <summary>The send buffer is full: wait for the buffered-amount-low event.</summary>
    BufferFull,

    /// <summary>The stream is being reset (channel closing) or above the negotiated stream count.</summary>
    StreamUnavailable,

    /// <summary>The association is shutting down, closed or aborted.</summary>
    Closed,
}

/// <summary>Per-message reliability (RFC 3758 PR-SCTP, the W3C ordered/maxRetransmits/maxPacketLifeTime).</summary>
public readonly record struct SendOptions(bool Unordered = false, int? MaxRetransmits = null, TimeSpan? MaxLifetime = null)
{
    public static SendOptions Reliable => default;
}
