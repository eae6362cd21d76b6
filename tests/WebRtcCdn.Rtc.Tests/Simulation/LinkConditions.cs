namespace WebRtcCdn.Rtc.Tests.Simulation;

/// <summary>How a simulated path treats datagrams. All randomness comes from the network's seeded RNG.</summary>
public sealed record LinkConditions
{
    /// <summary>One-way delay.</summary>
    public TimeSpan Delay { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Extra delay uniformly in [0, Jitter): with jitter larger than the send spacing, datagrams reorder.</summary>
    public TimeSpan Jitter { get; init; }

    /// <summary>Probability a datagram is lost.</summary>
    public double Loss { get; init; }

    /// <summary>Probability a datagram is delivered twice.</summary>
    public double Duplicate { get; init; }

    /// <summary>Probability a datagram is held back by <see cref="ReorderDelay"/> extra (so later ones overtake it).</summary>
    public double Reorder { get; init; }

    public TimeSpan ReorderDelay { get; init; } = TimeSpan.FromMilliseconds(30);

    public static LinkConditions Perfect { get; } = new() { Delay = TimeSpan.FromMilliseconds(1) };
}
