using System.Net;

namespace WebRtcCdn.Rtc.Net;

/// <summary>One connection registered on a <see cref="UdpMux"/>. Called on the mux's receive loop; must not block.</summary>
public interface IUdpMuxReceiver
{
    void OnDatagram(ReadOnlySpan<byte> datagram, IPEndPoint remote);

    /// <summary>
    /// The mux drained what the socket held for now and this receiver got at least one datagram of it: hand the
    /// burst on (receivers that collect datagrams into a batch flush it here).
    /// </summary>
    void OnReceiveBatchEnd()
    {
    }
}
