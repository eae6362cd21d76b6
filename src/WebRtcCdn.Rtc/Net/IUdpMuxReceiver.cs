using System.Net;

namespace WebRtcCdn.Rtc.Net;

/// <summary>One connection registered on a <see cref="UdpMux"/>. Called on the mux's receive loop; must not block.</summary>
public interface IUdpMuxReceiver
{
    void OnDatagram(ReadOnlySpan<byte> datagram, IPEndPoint remote);
}
