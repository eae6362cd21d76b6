using System.Net;
using WebRtcCdn.Core.Configuration;

namespace WebRtcCdn.Server.Signaling;

/// <summary>
/// Maps a peer's address to its network group (signaling.network_groups: CIDR -> name, like Peer5's subnet
/// mapping). The most specific (longest prefix) block wins, so a campus /16 can hold a lab /24 of its own.
/// </summary>
public sealed class NetworkGroupMap
{
    private readonly (IPNetwork Network, string Group)[] _blocks;

    public NetworkGroupMap(IEnumerable<NetworkGroupOptions> groups) =>
        _blocks = groups.OrderByDescending(g => g.Network.PrefixLength).Select(g => (g.Network, g.Group)).ToArray();

    /// <summary>The group of <paramref name="address"/>, or null when no block holds it.</summary>
    public string? Lookup(IPAddress? address)
    {
        if (address is null)
        {
            return null;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var (network, group) in _blocks)
        {
            if (network.Contains(address))
            {
                return group;
            }
        }

        return null;
    }
}
