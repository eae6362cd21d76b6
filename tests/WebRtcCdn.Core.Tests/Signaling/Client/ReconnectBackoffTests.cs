using WebRtcCdn.Core.Signaling.Client;

namespace WebRtcCdn.Core.Tests.Signaling.Client;

public sealed class ReconnectBackoffTests
{
    [Fact]
    public void Delays_double_from_the_minimum_to_the_cap_with_jitter_in_the_upper_half()
    {
        var backoff = new ReconnectBackoff(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30));
        var random = new Random(7);
        for (var attempt = 1; attempt <= 40; attempt++)
        {
            var ceiling = Math.Min(30_000, 500 * Math.Pow(2, Math.Min(attempt - 1, 20)));
            for (var i = 0; i < 50; i++)
            {
                var d = backoff.Delay(attempt, random).TotalMilliseconds;
                Assert.InRange(d, (ceiling / 2) - 0.001, ceiling + 0.001);
            }
        }
    }

    [Fact]
    public void Bad_bounds_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReconnectBackoff(TimeSpan.Zero, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReconnectBackoff(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1)));
    }
}
