using System.Globalization;

namespace WebRtcCdn.Core.Configuration;

/// <summary>
/// Parses human-written sizes ("10GB", "512 KiB", "1048576") and rates ("100MB/s", "80 Mbit/s").
/// </summary>
/// <remarks>
/// K, M, G and T (with or without a trailing B, and the explicit KiB/MiB/GiB/TiB forms) are binary
/// multiples of 1024, the way nginx and most cache configurations read them: "10GB" of cache is
/// 10 x 2^30 bytes, and the seed's chunk size 1048576 is "1MB". Rates in bits (kbit/s, Mbit/s, Gbit/s,
/// also written kbps/Mbps/Gbps) are decimal, the way links are sold: 100 Mbit/s = 12,500,000 bytes/s.
/// </remarks>
public static class ByteSize
{
    private static readonly (string Suffix, long Multiplier)[] ByteUnits =
    [
        ("TIB", 1L << 40), ("GIB", 1L << 30), ("MIB", 1L << 20), ("KIB", 1L << 10),
        ("TB", 1L << 40), ("GB", 1L << 30), ("MB", 1L << 20), ("KB", 1L << 10),
        ("T", 1L << 40), ("G", 1L << 30), ("M", 1L << 20), ("K", 1L << 10),
        ("B", 1L),
    ];

    private static readonly (string Suffix, long BitsPerUnit)[] BitUnits =
    [
        ("GBIT", 1_000_000_000L), ("MBIT", 1_000_000L), ("KBIT", 1_000L), ("BIT", 1L),
        ("GBPS", 1_000_000_000L), ("MBPS", 1_000_000L), ("KBPS", 1_000L), ("BPS", 1L),
    ];

    /// <summary>Parses a size in bytes. Throws <see cref="FormatException"/> with a readable message.</summary>
    public static long ParseSize(string text)
    {
        if (!TryParseSize(text, out var bytes, out var error))
        {
            throw new FormatException(error);
        }

        return bytes;
    }

    public static bool TryParseSize(string? text, out long bytes, out string error)
    {
        bytes = 0;
        var trimmed = (text ?? string.Empty).Trim();
        if (trimmed.Length == 0)
        {
            error = "empty size; expected a number with an optional unit such as 512KB, 10GB or 1048576";
            return false;
        }

        var upper = trimmed.ToUpperInvariant();
        long multiplier = 1;
        var numberPart = upper;
        foreach (var (suffix, mult) in ByteUnits)
        {
            if (upper.EndsWith(suffix, StringComparison.Ordinal))
            {
                multiplier = mult;
                numberPart = upper[..^suffix.Length].TrimEnd();
                break;
            }
        }

        return TryScale(trimmed, numberPart, multiplier, "size", "512KB, 10GB or 1048576", out bytes, out error);
    }

    /// <summary>Parses a rate in bytes per second ("100MB/s", "80Mbit/s"). Throws <see cref="FormatException"/>.</summary>
    public static long ParseRate(string text)
    {
        if (!TryParseRate(text, out var rate, out var error))
        {
            throw new FormatException(error);
        }

        return rate;
    }

    public static bool TryParseRate(string? text, out long bytesPerSecond, out string error)
    {
        bytesPerSecond = 0;
        const string Example = "100MB/s, 512KB/s or 80Mbit/s";
        var trimmed = (text ?? string.Empty).Trim();
        var upper = trimmed.ToUpperInvariant();
        if (upper.Length == 0)
        {
            error = $"empty rate; expected a size per second such as {Example}";
            return false;
        }

        foreach (var (suffix, bits) in BitUnits)
        {
            var withSlash = suffix.EndsWith("PS", StringComparison.Ordinal) ? suffix : suffix + "/S";
            if (upper.EndsWith(withSlash, StringComparison.Ordinal))
            {
                var number = upper[..^withSlash.Length].TrimEnd();
                if (!TryScale(trimmed, number, bits, "rate", Example, out var bitsPerSecond, out error))
                {
                    return false;
                }

                bytesPerSecond = bitsPerSecond / 8;
                return CheckPositive(trimmed, Example, ref bytesPerSecond, out error);
            }
        }

        if (!upper.EndsWith("/S", StringComparison.Ordinal))
        {
            error = $"invalid rate '{trimmed}': missing '/s'; expected a size per second such as {Example}";
            return false;
        }

        if (!TryParseSize(trimmed[..^2], out bytesPerSecond, out var sizeError))
        {
            error = $"invalid rate '{trimmed}': {sizeError}";
            return false;
        }

        return CheckPositive(trimmed, Example, ref bytesPerSecond, out error);
    }

    /// <summary>Formats bytes with the largest binary unit that keeps the value readable ("10GB", "1.5MB").</summary>
    public static string Format(long bytes)
    {
        foreach (var (suffix, mult) in new[] { ("TB", 1L << 40), ("GB", 1L << 30), ("MB", 1L << 20), ("KB", 1L << 10) })
        {
            if (Math.Abs(bytes) >= mult)
            {
                return (bytes / (double)mult).ToString("0.##", CultureInfo.InvariantCulture) + suffix;
            }
        }

        return bytes.ToString(CultureInfo.InvariantCulture) + "B";
    }

    private static bool CheckPositive(string original, string example, ref long value, out string error)
    {
        if (value <= 0)
        {
            error = $"invalid rate '{original}': must be greater than zero (for example {example})";
            return false;
        }

        error = string.Empty;
        return true;
    }

    private static bool TryScale(string original, string number, long multiplier, string what, string example, out long result, out string error)
    {
        result = 0;
        if (number.Length == 0 || !decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
        {
            error = $"invalid {what} '{original}': expected a number with an optional unit such as {example}";
            return false;
        }

        var scaled = value * multiplier;
        if (scaled > long.MaxValue)
        {
            error = $"invalid {what} '{original}': too large";
            return false;
        }

        if (scaled != decimal.Truncate(scaled))
        {
            error = $"invalid {what} '{original}': not a whole number of {(what == "rate" ? "bits" : "bytes")}";
            return false;
        }

        result = (long)scaled;
        error = string.Empty;
        return true;
    }
}
