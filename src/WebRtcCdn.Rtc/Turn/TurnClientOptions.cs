namespace WebRtcCdn.Rtc.Turn;

/// <summary>Timers and bounds of a <see cref="TurnClient"/>. Defaults carry their source.</summary>
public sealed class TurnClientOptions
{
    /// <summary>Requested allocation lifetime; RFC 8656 sec. 3.8 default 600 s.</summary>
    public TimeSpan Lifetime { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>First retransmission; RFC 8489 sec. 6.2.1 recommends 500 ms.</summary>
    public TimeSpan InitialRto { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Back-off cap so that a lost request is retried within a few seconds, not 16 x RTO.</summary>
    public TimeSpan MaxRto { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>RFC 8489 Rc = 7 transmissions before a request times out.</summary>
    public int MaxTransmissions { get; init; } = 7;

    /// <summary>Permissions last 300 s (RFC 8656 sec. 9); refresh a minute early.</summary>
    public TimeSpan PermissionRefresh { get; init; } = TimeSpan.FromMinutes(4);

    /// <summary>Channel bindings last 600 s (RFC 8656 sec. 12); refresh well before (this also refreshes the permission).</summary>
    public TimeSpan ChannelRefresh { get; init; } = TimeSpan.FromMinutes(4);

    /// <summary>Datagrams held per peer while its permission/channel is being installed; beyond it they are dropped (UDP).</summary>
    public int MaxQueuedPerPeer { get; init; } = 32;

    /// <summary>Distinct peers we keep permissions for (each costs a refresh every few minutes).</summary>
    public int MaxPeers { get; init; } = 256;

    /// <summary>SOFTWARE attribute value, or null to send none.</summary>
    public string? Software { get; init; }
}
