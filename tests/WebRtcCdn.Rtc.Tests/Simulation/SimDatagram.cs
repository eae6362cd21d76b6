using System.Net;

namespace WebRtcCdn.Rtc.Tests.Simulation;

/// <summary>One datagram in flight in the simulated network.</summary>
public sealed record SimDatagram(IPEndPoint From, IPEndPoint To, byte[] Payload);
