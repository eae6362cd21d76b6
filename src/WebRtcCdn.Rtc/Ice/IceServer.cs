using System.Net;

namespace WebRtcCdn.Rtc.Ice;

/// <summary>
/// A resolved STUN or TURN server for gathering (the agent takes endpoints; URL parsing and DNS belong to the
/// PeerConnection layer). TURN servers carry long-term credentials (plain or the REST form, see
/// <see cref="Stun.StunCredentials.TurnRest"/>).
/// </summary>
public sealed record IceServer(IPEndPoint EndPoint, bool IsTurn, string? Username = null, string? Password = null)
{
    public static IceServer Stun(IPEndPoint endPoint) => new(endPoint, false);

    public static IceServer Turn(IPEndPoint endPoint, string username, string password) => new(endPoint, true, username, password);
}
