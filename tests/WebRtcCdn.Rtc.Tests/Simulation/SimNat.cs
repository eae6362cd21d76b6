using System.Net;

namespace WebRtcCdn.Rtc.Tests.Simulation;

/// <summary>
/// A NAT in front of private endpoints: endpoint-independent mapping (one public port per private endpoint,
/// RFC 4787 REQ-1) and, when <see cref="AddressAndPortDependentFiltering"/>, inbound datagrams pass only from
/// destinations the private side has sent to (a "port-restricted cone", what most home routers do).
/// </summary>
public sealed class SimNat(IPAddress publicAddress, bool addressAndPortDependentFiltering = true)
{
    private readonly Dictionary<IPEndPoint, IPEndPoint> _outbound = [];
    private readonly Dictionary<IPEndPoint, IPEndPoint> _inbound = [];
    private readonly HashSet<(IPEndPoint Mapped, IPEndPoint Remote)> _allowed = [];
    private int _nextPort = 40000;

    public IPAddress PublicAddress { get; } = publicAddress;

    public bool AddressAndPortDependentFiltering { get; } = addressAndPortDependentFiltering;

    public IReadOnlyDictionary<IPEndPoint, IPEndPoint> Mappings => _outbound;

    internal IPEndPoint Translate(IPEndPoint privateFrom, IPEndPoint to)
    {
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
