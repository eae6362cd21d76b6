namespace WebRtcCdn.Rtc.Sctp;

/// <summary>What happened, as polled from <see cref="SctpAssociation.PollEvent"/>.</summary>
public enum SctpEventKind
{
    /// <summary>The association is established (COOKIE-ACK received or COOKIE-ECHO accepted).</summary>
    Connected,

    /// <summary>A user message arrived: <see cref="SctpEvent.Message"/>; release it when consumed.</summary>
    Message,

    /// <summary>The peer reset these incoming streams (RFC 6525): every message before the reset was delivered.</summary>
    IncomingStreamsReset,

    /// <summary>Our outgoing reset of these streams was performed by the peer; their SSNs restart at 0.</summary>
    OutgoingStreamsReset,

    /// <summary>The peer denied our reset of these streams.</summary>
    OutgoingStreamsResetFailed,

    /// <summary>The stream's buffered amount fell to or below its threshold (downward crossing only).</summary>
    BufferedAmountLow,

    /// <summary>A message could not be reassembled (larger than the max message size) and was dropped.</summary>
    MessageDropped,

    /// <summary>Graceful shutdown completed.</summary>
    Closed,

    /// <summary>The association was aborted (by the peer or by us); <see cref="SctpEvent.Reason"/> says why.</summary>
    Aborted,
}

/// <summary>An event; which properties are set depends on <see cref="Kind"/>.</summary>
public sealed record SctpEvent(SctpEventKind Kind)
{
    public SctpMessage? Message { get; init; }

    public ushort StreamId { get; init; }

    public IReadOnlyList<ushort> StreamIds { get; init; } = [];

    public string? Reason { get; init; }
}
