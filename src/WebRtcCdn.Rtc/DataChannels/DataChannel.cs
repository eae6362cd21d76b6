using WebRtcCdn.Rtc.Sctp;

namespace WebRtcCdn.Rtc.DataChannels;

/// <summary>
/// One data channel's state as the <see cref="DataChannelManager"/> keeps it (sans-IO: sending and closing go
/// through the manager; an async RTCDataChannel wrapper sits on top).
/// </summary>
public sealed class DataChannel
{
    private readonly SctpAssociation _association;
    private long _lowThreshold;

    internal DataChannel(SctpAssociation association, ushort id, string label, DataChannelInit init)
    {
        _association = association;
        Id = id;
        Label = label;
        Protocol = init.Protocol;
        Ordered = init.Ordered;
        MaxRetransmits = init.MaxRetransmits;
        MaxPacketLifeTime = init.MaxPacketLifeTime;
        Negotiated = init.Negotiated;
        Priority = init.Priority;
    }

    public ushort Id { get; }

    public string Label { get; }

    public string Protocol { get; }

    public bool Ordered { get; }

    public int? MaxRetransmits { get; }

    public TimeSpan? MaxPacketLifeTime { get; }

    public bool Negotiated { get; }

    public ushort Priority { get; }

    public DataChannelState State { get; internal set; }

    /// <summary>Bytes queued by Send and not yet handed to the network (W3C bufferedAmount).</summary>
    public long BufferedAmount => _association.GetBufferedAmount(Id);

    /// <summary>W3C bufferedAmountLowThreshold; the BufferedAmountLow event fires on the downward crossing.</summary>
    public long BufferedAmountLowThreshold
    {
        get => _lowThreshold;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _lowThreshold = value;
            _association.SetBufferedAmountLowThreshold(Id, value);
        }
    }

    /// <summary>Our DATA_CHANNEL_OPEN was acknowledged (until then messages go ordered, RFC 8832 sec. 6).</summary>
    internal bool AckReceived { get; set; }

    internal bool OpenPending { get; set; }

    internal bool IncomingReset { get; set; }

    internal bool OutgoingReset { get; set; }

    internal SendOptions SendOptions(bool forceOrdered) => new(
        Unordered: !Ordered && !forceOrdered,
        MaxRetransmits: MaxRetransmits,
        MaxLifetime: MaxPacketLifeTime);

    internal DataChannelType ChannelType =>
        (MaxRetransmits.HasValue ? DataChannelType.PartialReliableRexmit : MaxPacketLifeTime.HasValue ? DataChannelType.PartialReliableTimed : DataChannelType.Reliable)
        | (Ordered ? DataChannelType.Reliable : DataChannelType.ReliableUnordered);

    internal uint ReliabilityParameter =>
        MaxRetransmits is { } r ? (uint)r : MaxPacketLifeTime is { } t ? (uint)t.TotalMilliseconds : 0;
}
