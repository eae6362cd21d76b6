namespace WebRtcCdn.Core.Peers;

/// <summary>A send on a channel that is closed (by either side).</summary>
public sealed class PeerChannelClosedException : Exception
{
    public PeerChannelClosedException()
        : base("the peer channel is closed")
    {
    }

    public PeerChannelClosedException(string message)
        : base(message)
    {
    }

    public PeerChannelClosedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
