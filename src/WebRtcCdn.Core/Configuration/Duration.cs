using System.Globalization;

namespace WebRtcCdn.Core.Configuration;

/// <summary>
/// Parses durations written as a sequence of number+unit parts: "30s", "24h", "500ms", "1h30m", "7d".
/// A bare number is refused because its unit would be a guess.
/// </summary>
public static class Duration
{
    private static readonly (string Unit, double Milliseconds)[] Units =
    [
        ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
    ];

    public static TimeSpan Parse(string text)
    {
        if (!TryParse(text, out var value, out var error))
        {
            throw new FormatException(error);
        }

        return value;
    }

    public static bool TryParse(string? text, out TimeSpan value, out string error)
    {
        value = TimeSpan.Zero;
        var s = (text ?? string.Empty).Trim();
        var expected = "expected a number and a unit (ms, s, m, h, d) such as 30s, 24h or 1h30m";
        if (s.Length == 0)
        {
            error = $"empty duration; {expected}";
            return false;
        }

        double totalMs = 0;
        var i = 0;
        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            {
                i++;
            }

            if (start == i || !double.TryParse(s.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                error = $"invalid duration '{s}': {expected}";
                return false;
            }

            var unitStart = i;
            while (i < s.Length && char.IsAsciiLetter(s[i]))
            {
                i++;
            }

            var unit = s[unitStart..i].ToLowerInvariant();
            if (unit.Length == 0)
            {
                error = $"invalid duration '{s}': missing unit; {expected}";
                return false;
            }

            var found = false;
            foreach (var (name, ms) in Units)
            {
                if (name == unit)
                {
                    totalMs += number * ms;
                    found = true;
                    break;
                }
            }

            if (!found)
            {
                error = $"invalid duration '{s}': unknown unit '{unit}'; {expected}";
                return false;
            }
        }

        if (totalMs > TimeSpan.MaxValue.TotalMilliseconds / 2)
        {
            error = $"invalid duration '{s}': too large";
            return false;
        }

        value = TimeSpan.FromMilliseconds(totalMs);
        error = string.Empty;
        return true;
    }

    /// <summary>Formats a duration the way it is written in configuration ("30s", "24h", "1h30m").</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }

        var parts = new System.Text.StringBuilder();
        var ms = (long)value.TotalMilliseconds;
        foreach (var (name, unitMs) in new[] { ("d", 86_400_000L), ("h", 3_600_000L), ("m", 60_000L), ("s", 1000L), ("ms", 1L) })
        {
            if (ms >= unitMs)
            {
                parts.Append(CultureInfo.InvariantCulture, $"{ms / unitMs}{name}");
                ms %= unitMs;
            }
        }

        return parts.ToString();
    }
}
