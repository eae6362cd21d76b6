using System.Net;
using WebRtcCdn.Rtc.Turn;

namespace WebRtcCdn.Rtc.Ice;

/// <summary>A TURN client working for the agent from one host socket; its relayed candidate once allocated.</summary>
internal sealed class IceTurnAllocation(TurnClient client, IPEndPoint baseEndPoint)
{
    public TurnClient Client { get; } = client;

    public IPEndPoint Base { get; } = baseEndPoint;

    public IceLocalCandidate? Candidate { get; set; }

    public bool Done { get; set; }
}
