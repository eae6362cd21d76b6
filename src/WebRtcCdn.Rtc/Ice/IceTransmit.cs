using System.Net;

namespace WebRtcCdn.Rtc.Ice;

/// <summary>A datagram the driver must send from the socket bound to <paramref name="Local"/> to <paramref name="Remote"/>.</summary>
public readonly record struct IceTransmit(byte[] Payload, IPEndPoint Local, IPEndPoint Remote);
