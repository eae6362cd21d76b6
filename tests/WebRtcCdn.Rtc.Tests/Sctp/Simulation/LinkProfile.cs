namespace WebRtcCdn.Rtc.Tests.Sctp.Simulation;

/// <summary>One direction of a simulated path. Everything random comes from the pair's seeded generator.</summary>
public sealed record LinkProfile
{
    /// <summary>Bottleneck rate in bytes per second; 0 means unlimited.</summary>
    public double BytesPerSecond { get; init; }

    public TimeSpan Delay { get; init; } = TimeSpan.FromMilliseconds(10);

    public double LossRate { get; init; }

    public double DuplicateRate { get; init; }

    /// <summary>Fraction of packets held back by an extra random delay up to <see cref="ReorderDelay"/>.</summary>
    public double ReorderRate { get; init; }

    public TimeSpan ReorderDelay { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Bottleneck queue (tail drop) in bytes; only meaningful with a rate.</summary>
    public long QueueLimitBytes { get; init; } = 4 * 1024 * 1024;

    public static LinkProfile Perfect(TimeSpan delay) => new() { Delay = delay };
}
