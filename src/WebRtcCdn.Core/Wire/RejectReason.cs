namespace WebRtcCdn.Core.Wire;

/// <summary>Why a peer refused a REQUEST.</summary>
public enum RejectReason : byte
{
    /// <summary>The peer does not hold that chunk (any more).</summary>
    NotFound = 0x01,

    /// <summary>The peer is at its upload limit: try again later or elsewhere.</summary>
    Busy = 0x02,

    /// <summary>The peer does not serve this requester now (upload consent, fairness).</summary>
    Choked = 0x03,

    /// <summary>The request is outside the chunk (offset or length beyond its end).</summary>
    Invalid = 0x04,
}
