namespace WebRtcCdn.Rtc.DataChannels;

/// <summary>W3C RTCDataChannelInit.</summary>
public sealed record DataChannelInit
{
    public bool Ordered { get; init; } = true;

    /// <summary>maxPacketLifeTime; exclusive with <see cref="MaxRetransmits"/>.</summary>
    public TimeSpan? MaxPacketLifeTime { get; init; }

    public int? MaxRetransmits { get; init; }

    public string Protocol { get; init; } = string.Empty;

    /// <summary>Pre-agreed channel: no DCEP handshake, <see cref="Id"/> is required.</summary>
    public bool Negotiated { get; init; }

    public ushort? Id { get; init; }

    /// <summary>RFC 8832 priority (W3C "low" 128, "medium" 256, "high" 512; default 256).</summary>
    public ushort Priority { get; init; } = 256;
}
