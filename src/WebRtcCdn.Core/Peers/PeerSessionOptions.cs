namespace WebRtcCdn.Core.Peers;

/// <summary>Limits of one peer session (both directions). Defaults are the edge's per-peer defaults.</summary>
public sealed class PeerSessionOptions
{
    /// <summary>
    /// Requests served at once on this channel; more wait in the queue. 4: enough to keep a data channel busy
    /// (each request is up to one chunk, 1 MiB by default) without one peer monopolising the uploader.
    /// </summary>
    public int MaxConcurrentTransfers { get; init; } = 4;

    /// <summary>Requests waiting behind the concurrent ones; beyond that REJECT busy (a bounded queue fed from the network). 16: a generous pipeline for one viewer.</summary>
    public int MaxQueuedRequests { get; init; } = 16;

    /// <summary>Upload bytes per second on this channel; 0 = unlimited.</summary>
    public long UploadBytesPerSecond { get; init; }

    /// <summary>Token bucket depth in bytes: 256 KiB lets a few PIECEs go back to back without exceeding the rate over a second.</summary>
    public long UploadBurstBytes { get; init; } = 256 << 10;

    /// <summary>A peer that sends nothing for this long is dropped (it holds memory and a slot). 2 minutes: several PING intervals.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>We PING after this much silence so a live peer is never idle-dropped by the other side. 30 s, a quarter of the idle timeout.</summary>
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Our own requests outstanding on this channel (each reserves up to one chunk of memory): 4.</summary>
    public int MaxOutstandingRequests { get; init; } = 4;

    /// <summary>A request that does not complete in this time is cancelled and reported as failed (the scheduler asks elsewhere). 20 s: a 1 MiB chunk at 50 KiB/s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Frames produced but not yet taken by the driver, beyond which serving pauses (bounded output queue). 8 PIECEs = 512 KiB.</summary>
    public int MaxPendingOutput { get; init; } = 8;

    /// <summary>Serve requests at all (a pure downloader sets false and answers REJECT choked).</summary>
    public bool Serve { get; init; } = true;

    /// <summary>Where the session accounts for what it holds (shared by an edge's sessions); null = not accounted.</summary>
    public PeerMemoryLedger? Ledger { get; init; }
}
