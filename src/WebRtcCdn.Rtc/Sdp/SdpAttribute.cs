namespace WebRtcCdn.Rtc.Sdp;

/// <summary>One <c>a=name[:value]</c> line (RFC 8866 sec. 5.13) and where it was.</summary>
public sealed record SdpAttribute(string Name, string? Value, int LineNumber)
{
    /// <summary>The line as it appears in SDP, without the line ending.</summary>
    public override string ToString() => Value is null ? $"a={Name}" : $"a={Name}:{Value}";
}
