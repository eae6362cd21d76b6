using WebRtcCdn.Core.Configuration;

namespace WebRtcCdn.Core.Tests.Configuration;

public sealed class DurationTests
{
    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("24h", 86_400_000)]
    [InlineData("500ms", 500)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("7d", 604_800_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData(" 2m ", 120_000)]
    public void Parses_durations(string text, double expectedMs) => Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), Duration.Parse(text));

    [Theory]
    [InlineData("30", "missing unit")]
    [InlineData("30x", "unknown unit 'x'")]
    [InlineData("s", "expected a number")]
    [InlineData("", "empty duration")]
    [InlineData("-5s", "expected a number")]
    [InlineData("99999999999d", "too large")]
    public void Rejects_bad_durations(string text, string fragment)
    {
        var e = Assert.Throws<FormatException>(() => Duration.Parse(text));
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(30_000, "30s")]
    [InlineData(5_400_000, "1h30m")]
    [InlineData(0, "0s")]
    public void Formats_durations(double ms, string expected) => Assert.Equal(expected, Duration.Format(TimeSpan.FromMilliseconds(ms)));
}
