using System.Net;
using WebRtcCdn.Rtc.Stun;
using WebRtcCdn.Rtc.Turn;

namespace WebRtcCdn.Rtc.Tests.Simulation;

/// <summary>
/// A small TURN server (RFC 8656 subset, no authentication) for the simulated network: Allocate hands out a relayed
/// endpoint on its own address, permissions and channels gate what peers may send, Send indications and ChannelData
/// go out from the relayed endpoint, peer datagrams come back as Data indications or ChannelData.
/// </summary>
public sealed class SimTurnServer(SimulatedNetwork network, IPEndPoint endPoint) : ISimNode
{
    private readonly Dictionary<IPEndPoint, Allocation> _byClient = [];
    private readonly Dictionary<IPEndPoint, Allocation> _byRelay = [];
    private int _nextPort = 49152;

    public IPEndPoint EndPoint { get; } = endPoint;

    public int Relayed { get; private set; }

    public TimeSpan? NextTimeout => null;

    public void HandleTimeout(TimeSpan now)
    {
    }

    public void Receive(SimDatagram datagram, TimeSpan now)
    {
        if (_byRelay.TryGetValue(datagram.To, out var fromPeer))
        {
            FromPeer(fromPeer, datagram);
            return;
        }

        if (!_byClient.TryGetValue(datagram.From, out var allocation) && !StunMessage.IsStun(datagram.Payload))
        {
            return;
        }

        if (allocation is not null && ChannelData.TryDecode(datagram.Payload, out var number, out var payload))
        {
            if (allocation.Channels.TryGetValue(number, out var peer))
            {
                Relay(allocation, peer, payload.ToArray());
            }

            return;
        }

        if (!StunMessage.TryParse(datagram.Payload, out var m))
        {
            return;
        }

        if (m.Class == StunClass.Indication && m.Method == StunMethod.Send && allocation is not null &&
            m.GetXorAddress(StunAttributeType.XorPeerAddress) is { } to && m.Get(StunAttributeType.Data) is { } data)
        {
            if (allocation.Permissions.Contains(to.Address))
            {
                Relay(allocation, to, data);
            }

            return;
        }

        if (m.Class != StunClass.Request)
        {
            return;
        }

        var ok = new StunMessage(m.Method, StunClass.SuccessResponse, m.TransactionId);
        switch (m.Method)
        {
            case StunMethod.Allocate:
                if (allocation is null)
                {
                    allocation = new Allocation(datagram.From, new IPEndPoint(EndPoint.Address, _nextPort++));
                    _byClient[datagram.From] = allocation;
                    _byRelay[allocation.Relay] = allocation;
                    network.Attach(allocation.Relay, this);
                }

                ok.AddXorAddress(StunAttributeType.XorRelayedAddress, allocation.Relay)
                    .AddXorAddress(StunAttributeType.XorMappedAddress, datagram.From)
                    .AddUInt32(StunAttributeType.Lifetime, 600);
                break;
            case StunMethod.CreatePermission when allocation is not null && m.GetXorAddress(StunAttributeType.XorPeerAddress) is { } p:
                allocation.Permissions.Add(p.Address);
                break;
            case StunMethod.ChannelBind when allocation is not null && m.GetXorAddress(StunAttributeType.XorPeerAddress) is { } p && m.GetChannelNumber() is { } c:
                allocation.Permissions.Add(p.Address);
                allocation.Channels[c] = p;
                break;
            case StunMethod.Refresh when allocation is not null:
                ok.AddUInt32(StunAttributeType.Lifetime, m.GetUInt32(StunAttributeType.Lifetime) ?? 600);
                break;
            case StunMethod.Binding:
                ok.AddXorAddress(StunAttributeType.XorMappedAddress, datagram.From);
                break;
            default:
                ok = new StunMessage(m.Method, StunClass.ErrorResponse, m.TransactionId).AddErrorCode(437, "Allocation Mismatch");
                break;
        }

        network.Send(EndPoint, datagram.From, ok.Encode(fingerprint: true));
    }

    private void Relay(Allocation allocation, IPEndPoint peer, byte[] data)
    {
        Relayed++;
        network.Send(allocation.Relay, peer, data);
    }

    private void FromPeer(Allocation allocation, SimDatagram datagram)
    {
        if (!allocation.Permissions.Contains(datagram.From.Address))
        {
            return; // RFC 8656 sec. 9: no permission, no entry
        }

        foreach (var (number, peer) in allocation.Channels)
        {
            if (peer.Equals(datagram.From))
            {
                network.Send(EndPoint, allocation.Client, ChannelData.Encode(number, datagram.Payload));
                return;
            }
        }

        var indication = new StunMessage(StunMethod.Data, StunClass.Indication, StunTransactionId.New())
            .AddXorAddress(StunAttributeType.XorPeerAddress, datagram.From)
            .Add(StunAttributeType.Data, datagram.Payload);
        network.Send(EndPoint, allocation.Client, indication.Encode(fingerprint: true));
    }

    private sealed class Allocation(IPEndPoint client, IPEndPoint relay)
    {
        public IPEndPoint Client { get; } = client;

        public IPEndPoint Relay { get; } = relay;

        public HashSet<IPAddress> Permissions { get; } = [];

        public Dictionary<ushort, IPEndPoint> Channels { get; } = [];
    }
}
