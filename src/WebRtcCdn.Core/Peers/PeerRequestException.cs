using WebRtcCdn.Core.Wire;

namespace WebRtcCdn.Core.Peers;

/// <summary>A chunk request to a peer failed (rejected, timed out, channel closed).</summary>
public sealed class PeerRequestException : Exception
{
    public PeerRequestException()
        : base("the peer request failed")
    {
    }

    public PeerRequestException(string message)
        : base(message)
    {
    }

    public PeerRequestException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public PeerRequestException(RequestFailure failure, RejectReason? reason)
        : base(reason is { } r ? $"peer request {failure}: {WireNames(r)}" : $"peer request {failure}")
    {
        Failure = failure;
        Reason = reason;
    }

    public RequestFailure Failure { get; }

    public RejectReason? Reason { get; }

    private static string WireNames(RejectReason reason) => reason switch
    {
        RejectReason.NotFound => "not_found",
        RejectReason.Busy => "busy",
        RejectReason.Choked => "choked",
        _ => "invalid",
    };
}
