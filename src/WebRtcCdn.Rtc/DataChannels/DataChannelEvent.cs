namespace WebRtcCdn.Rtc.DataChannels;

public enum DataChannelEventKind
{
    /// <summary>The channel is open (ours: OPEN sent or negotiated and SCTP up; theirs: W3C ondatachannel).</summary>
    Open,

    /// <summary>A message: <see cref="DataChannelEvent.Message"/>; release it with <see cref="DataChannelManager.Release"/>.</summary>
    Message,

    /// <summary>The buffered amount fell to the channel's threshold (W3C bufferedamountlow).</summary>
    BufferedAmountLow,

    /// <summary>The peer started closing the channel.</summary>
    Closing,

    /// <summary>The channel is closed (both directions reset, or the association ended).</summary>
    Closed,

    /// <summary>The SCTP association is established.</summary>
    AssociationConnected,

    /// <summary>The SCTP association ended (<see cref="DataChannelEvent.Reason"/>).</summary>
    AssociationClosed,
}

/// <summary>An event of the channel layer; <see cref="Channel"/> is null for association events.</summary>
public sealed record DataChannelEvent(DataChannelEventKind Kind, DataChannel? Channel)
{
    /// <summary>For <see cref="DataChannelEventKind.Open"/>: the peer opened it (W3C ondatachannel).</summary>
    public bool Remote { get; init; }

    public DataChannelMessage? Message { get; init; }

    public string? Reason { get; init; }
}
