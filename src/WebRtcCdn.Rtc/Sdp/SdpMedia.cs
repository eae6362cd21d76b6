namespace WebRtcCdn.Rtc.Sdp;

/// <summary>One media section: <c>m=&lt;media&gt; &lt;port&gt; &lt;proto&gt; &lt;fmt&gt;...</c> and the lines up to the next m= (RFC 8866 sec. 5.14).</summary>
public sealed class SdpMedia
{
    public required string Media { get; init; }

    public required int Port { get; init; }

    public required string Protocol { get; init; }

    public required IReadOnlyList<string> Formats { get; init; }

    /// <summary>Line number of the m= line.</summary>
    public required int LineNumber { get; init; }

    /// <summary>The value of the c= line of this section, if any.</summary>
    public string? Connection { get; internal set; }

    public List<SdpAttribute> Attributes { get; } = [];

    /// <summary>The m= line as it appears in SDP.</summary>
    public string MediaLine => $"m={Media} {Port} {Protocol} {string.Join(' ', Formats)}";

    /// <summary>First attribute with that name (case-sensitive, as RFC 8866 specifies), or null.</summary>
    public SdpAttribute? Attribute(string name) => Attributes.Find(a => a.Name == name);
}
