namespace WebRtcCdn.Rtc.PeerConnection;

/// <summary>W3C RTCDataChannelInit.</summary>
public sealed record RtcDataChannelInit
{
    public bool Ordered { get; init; } = true;

    public int? MaxRetransmits { get; init; }

    public TimeSpan? MaxPacketLifeTime { get; init; }

    public string Protocol { get; init; } = string.Empty;

    /// <summary>Both sides create the channel with the same <see cref="Id"/>; no DCEP OPEN is sent.</summary>
    public bool Negotiated { get; init; }

    public ushort? Id { get; init; }
}
