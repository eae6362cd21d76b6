using System.Net;

namespace WebRtcCdn.Rtc.Tests.Simulation;

/// <summary>
/// A NAT in front of private endpoints: endpoint-independent mapping (one public port per private endpoint,
/// RFC 4787 REQ-1) and, when <see cref="AddressAndPortDependentFiltering"/>, inbound datagrams pass only from
/// destinations the private side has sent to (a "port-restricted cone", what most home routers do).
/// A <paramref name="symmetric"/> NAT maps each (private endpoint, destination) to its own port: reflexive
/// addresses learned from a STUN server are useless towards a peer, only a relay gets through.
/// </summary>
public sealed class SimNat(IPAddress publicAddress, bool addressAndPortDependentFiltering = true, bool symmetric = false)
{
    private readonly Dictionary<IPEndPoint, IPEndPoint> _outbound = [];
    private readonly Dictionary<(IPEndPoint, IPEndPoint), IPEndPoint> _symmetric = [];
    private readonly Dictionary<IPEndPoint, IPEndPoint> _inbound = [];
    private readonly HashSet<(IPEndPoint Mapped, IPEndPoint Remote)> _allowed = [];
    private int _nextPort = 40000;

    public IPAddress PublicAddress { get; } = publicAddress;

    public bool AddressAndPortDependentFiltering { get; } = addressAndPortDependentFiltering;

    public IReadOnlyDictionary<IPEndPoint, IPEndPoint> Mappings => _outbound;

    internal IPEndPoint Translate(IPEndPoint privateFrom, IPEndPoint to)
    {
        if (symmetric)
        {
            if (!_symmetric.TryGetValue((privateFrom, to), out var m))
            {
                m = new IPEndPoint(PublicAddress, _nextPort++);
                _symmetric[(privateFrom, to)] = m;
                _inbound[m] = privateFrom;
                _outbound.TryAdd(privateFrom, m);
            }

            _allowed.Add((m, to));
            return m;
        }

        if (!_outbound.TryGetValue(privateFrom, out var mapped))
        {
            mapped = new IPEndPoint(PublicAddress, _nextPort++);
            _outbound[privateFrom] = mapped;
            _inbound[mapped] = privateFrom;
        }

        _allowed.Add((mapped, to));
        return mapped;
    }

    internal IPEndPoint? Admit(IPEndPoint publicTo, IPEndPoint from)
    {
        if (!_inbound.TryGetValue(publicTo, out var privateTo))
        {
            return null;
        }

        return !AddressAndPortDependentFiltering || _allowed.Contains((publicTo, from)) ? privateTo : null;
    }
}
