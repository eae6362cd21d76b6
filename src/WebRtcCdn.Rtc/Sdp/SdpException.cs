namespace WebRtcCdn.Rtc.Sdp;

/// <summary>An SDP we cannot parse or cannot use, with the line at fault (1-based; 0 = the description as a whole).</summary>
public sealed class SdpException : FormatException
{
    public SdpException()
    {
    }

    public SdpException(string message)
        : base(message)
    {
    }

    public SdpException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public SdpException(int lineNumber, string? line, string reason)
        : base(Format(lineNumber, line, reason))
    {
        LineNumber = lineNumber;
        Line = line;
        Reason = reason;
    }

    /// <summary>1-based line number, 0 when the problem is not one line (e.g. something is missing).</summary>
    public int LineNumber { get; }

    /// <summary>The offending line as received (truncated to 100 characters), if any.</summary>
    public string? Line { get; }

    /// <summary>Why the line or description is not usable.</summary>
    public string? Reason { get; }

    private static string Format(int lineNumber, string? line, string reason)
    {
        if (lineNumber <= 0)
        {
            return $"SDP: {reason}";
        }

        var shown = line is null ? string.Empty : $" '{(line.Length > 100 ? line[..100] + "..." : line)}'";
        return $"SDP line {lineNumber}{shown}: {reason}";
    }
}
