using System.Net;

namespace WebRtcCdn.Server.Signaling;

public enum AdmissionResult
{
    Admitted,
    TooManyFromAddress,
    NodeFull,
}

/// <summary>
/// Connection caps taken before a WebSocket upgrade: per source address (signaling.limits.connections_per_ip)
/// and per node (p2p.max_peers / MAX_PEERS), counted over both /signaling and /announce.
/// </summary>
public sealed class ConnectionAdmission(int perAddress, int total)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<IPAddress, int> _byAddress = [];
    private int _total;

    public int Total
    {
        get
        {
            lock (_lock)
            {
                return _total;
            }
        }
    }

    public AdmissionResult TryAdmit(IPAddress address)
    {
        lock (_lock)
        {
            if (_total >= total)
            {
                return AdmissionResult.NodeFull;
            }

            _byAddress.TryGetValue(address, out var n);
            if (n >= perAddress)
            {
                return AdmissionResult.TooManyFromAddress;
            }

            _byAddress[address] = n + 1;
            _total++;
            return AdmissionResult.Admitted;
        }
    }

    public void Release(IPAddress address)
    {
        lock (_lock)
        {
            if (_byAddress.TryGetValue(address, out var n))
            {
                if (n <= 1)
                {
                    _byAddress.Remove(address);
                }
                else
                {
                    _byAddress[address] = n - 1;
                }

                _total--;
            }
        }
    }
}
