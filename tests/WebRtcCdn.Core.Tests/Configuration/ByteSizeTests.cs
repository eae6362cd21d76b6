using WebRtcCdn.Core.Configuration;

namespace WebRtcCdn.Core.Tests.Configuration;

public sealed class ByteSizeTests
{
    [Theory]
    [InlineData("1048576", 1048576)]
    [InlineData("10GB", 10L << 30)]
    [InlineData("10 GB", 10L << 30)]
    [InlineData("10gb", 10L << 30)]
    [InlineData("512KB", 512L << 10)]
    [InlineData("512KiB", 512L << 10)]
    [InlineData("1.5MB", 3L << 19)]
    [InlineData("1M", 1L << 20)]
    [InlineData("2TB", 2L << 40)]
    [InlineData("100B", 100)]
    [InlineData("0", 0)]
    public void Parses_sizes_with_binary_units(string text, long expected) => Assert.Equal(expected, ByteSize.ParseSize(text));

    [Theory]
    [InlineData("", "empty size")]
    [InlineData("GB", "expected a number")]
    [InlineData("ten GB", "expected a number")]
    [InlineData("10XB", "expected a number")]
    [InlineData("-5MB", "expected a number")]
    [InlineData("1.5B", "not a whole number of bytes")]
    [InlineData("99999999999TB", "too large")]
    public void Rejects_bad_sizes_with_a_clear_message(string text, string fragment)
    {
        var e = Assert.Throws<FormatException>(() => ByteSize.ParseSize(text));
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("100MB/s", 100L << 20)]
    [InlineData("100 MB/s", 100L << 20)]
    [InlineData("512KB/s", 512L << 10)]
    [InlineData("80Mbit/s", 10_000_000)]
    [InlineData("1Gbps", 125_000_000)]
    [InlineData("100mbps", 12_500_000)]
    public void Parses_rates_in_bytes_and_bits(string text, long expected) => Assert.Equal(expected, ByteSize.ParseRate(text));

    [Theory]
    [InlineData("100MB", "missing '/s'")]
    [InlineData("0MB/s", "greater than zero")]
    [InlineData("fast/s", "expected a number")]
    [InlineData("", "empty rate")]
    public void Rejects_bad_rates(string text, string fragment)
    {
        var e = Assert.Throws<FormatException>(() => ByteSize.ParseRate(text));
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(10L << 30, "10GB")]
    [InlineData(1536, "1.5KB")]
    [InlineData(12, "12B")]
    public void Formats_sizes(long bytes, string expected) => Assert.Equal(expected, ByteSize.Format(bytes));
}
