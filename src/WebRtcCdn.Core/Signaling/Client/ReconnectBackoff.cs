namespace WebRtcCdn.Core.Signaling.Client;

/// <summary>
/// Reconnect delays: exponential from <see cref="Min"/> to <see cref="Max"/>, each drawn uniformly from its upper half
/// ("equal jitter"), so a restarting server is not stampeded by every client at the same instant. Pure: the caller
/// passes the attempt number and a random source.
/// </summary>
public sealed class ReconnectBackoff(TimeSpan min, TimeSpan max)
{
    public TimeSpan Min { get; } = min > TimeSpan.Zero ? min : throw new ArgumentOutOfRangeException(nameof(min));

    public TimeSpan Max { get; } = max >= min ? max : throw new ArgumentOutOfRangeException(nameof(max));

    /// <summary>The delay before reconnection attempt <paramref name="attempt"/> (1 = the first after a drop).</summary>
    public TimeSpan Delay(int attempt, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var exponent = Math.Clamp(attempt - 1, 0, 30);
        var ceiling = Math.Min(Max.Ticks, Min.Ticks * (1L << Math.Min(exponent, 20)));
        var half = ceiling / 2;
        return TimeSpan.FromTicks(half + (long)(random.NextDouble() * (ceiling - half)));
    }
}
