using System.Net;

namespace WebRtcCdn.Rtc.Ice;

/// <summary>
/// A pair as the outside sees it. <paramref name="LocalBase"/> is the socket address datagrams leave from
/// (for a relayed local candidate: the socket talking to the TURN server); <paramref name="RemoteEndPoint"/>
/// is the peer's transport address.
/// </summary>
public sealed record IceCandidatePairInfo(IceCandidate Local, IceCandidate Remote, IPEndPoint LocalBase, IPEndPoint RemoteEndPoint);
