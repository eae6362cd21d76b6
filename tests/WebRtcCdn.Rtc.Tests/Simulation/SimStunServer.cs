using System.Net;
using WebRtcCdn.Rtc.Stun;

namespace WebRtcCdn.Rtc.Tests.Simulation;

/// <summary>A minimal STUN server node: answers Binding requests with XOR-MAPPED-ADDRESS (the reflexive address).</summary>
public sealed class SimStunServer(SimulatedNetwork network, IPEndPoint endPoint) : ISimNode
{
    public IPEndPoint EndPoint { get; } = endPoint;

    public int Requests { get; private set; }

    public TimeSpan? NextTimeout => null;

    public void HandleTimeout(TimeSpan now)
    {
    }

    public void Receive(SimDatagram datagram, TimeSpan now)
    {
        if (!StunMessage.TryParse(datagram.Payload, out var m) || m.Method != StunMethod.Binding || m.Class != StunClass.Request)
        {
            return;
        }

        Requests++;
        var response = new StunMessage(StunMethod.Binding, StunClass.SuccessResponse, m.TransactionId)
            .AddXorAddress(StunAttributeType.XorMappedAddress, datagram.From);
        network.Send(EndPoint, datagram.From, response.Encode(fingerprint: true));
    }
}
