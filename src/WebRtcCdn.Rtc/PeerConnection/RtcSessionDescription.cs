namespace WebRtcCdn.Rtc.PeerConnection;

/// <summary>W3C RTCSdpType.</summary>
public enum RtcSdpType
{
    Offer,
    Answer,
}

/// <summary>W3C RTCSessionDescriptionInit.</summary>
public sealed record RtcSessionDescription(RtcSdpType Type, string Sdp)
{
    /// <summary>The W3C string form ("offer" / "answer").</summary>
    public string TypeName => Type == RtcSdpType.Offer ? "offer" : "answer";

    public static RtcSdpType ParseType(string type) => type switch
    {
        "offer" => RtcSdpType.Offer,
        "answer" => RtcSdpType.Answer,
        _ => throw new ArgumentException($"unsupported description type '{type}' (offer or answer)", nameof(type)),
    };
}

/// <summary>W3C RTCIceCandidateInit; a null or empty <see cref="Candidate"/> means end-of-candidates.</summary>
public sealed record RtcIceCandidate(string? Candidate, string? SdpMid = "0", int? SdpMLineIndex = 0);
