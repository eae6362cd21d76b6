using System.Globalization;
using System.Net;
using System.Net.Sockets;
using WebRtcCdn.Core.Signaling.Client;
using WebRtcCdn.Rtc.Ice;

namespace WebRtcCdn.Core.Swarming;

/// <summary>
/// Turns signaling's RTCIceServer URLs (RFC 7064/7065: <c>stun:host[:port]</c>, <c>turn:host[:port][?transport=udp]</c>)
/// into the endpoints our ICE agent takes. What our stack cannot use (<c>turns:</c>, TCP transport) or cannot resolve
/// is skipped: fewer candidates, never a failed connection.
/// </summary>
public static class IceServerUrls
{
    /// <summary>The STUN/TURN default port (RFC 8489 sec. 18.6).</summary>
    private const int DefaultPort = 3478;

    /// <summary>Parses one URL into (turn?, host, port); false for what we cannot use.</summary>
    public static bool TryParse(string url, out bool isTurn, out string host, out int port)
    {
        isTurn = false;
        host = string.Empty;
        port = DefaultPort;
        ArgumentNullException.ThrowIfNull(url);
        string rest;
        if (url.StartsWith("stun:", StringComparison.OrdinalIgnoreCase))
        {
            rest = url[5..];
        }
        else if (url.StartsWith("turn:", StringComparison.OrdinalIgnoreCase))
        {
            isTurn = true;
            rest = url[5..];
        }
        else
        {
            return false;
        }

        var query = rest.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            var parameters = rest[(query + 1)..];
            rest = rest[..query];
            if (parameters.Length > 0 && !parameters.Equals("transport=udp", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return false;
            }

            host = rest[1..close];
            rest = rest[(close + 1)..];
            if (rest.Length > 0 && (rest[0] != ':' || !int.TryParse(rest[1..], NumberStyles.None, CultureInfo.InvariantCulture, out port)))
            {
                return false;
            }
        }
        else
        {
            var colon = rest.LastIndexOf(':');
            host = colon >= 0 ? rest[..colon] : rest;
            if (colon >= 0 && !int.TryParse(rest[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port))
            {
                return false;
            }
        }

        return host.Length > 0 && port is > 0 and <= 65535;
    }

    /// <summary>Resolves every usable URL (IPv4 first) into our ICE servers.</summary>
    public static async Task<IReadOnlyList<IceServer>> ResolveAsync(IReadOnlyList<IceServerInfo> servers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(servers);
        var result = new List<IceServer>();
        foreach (var server in servers)
        {
            foreach (var url in server.Urls)
            {
                if (!TryParse(url, out var isTurn, out var host, out var port) || (isTurn && (server.Username is null || server.Credential is null)))
                {
                    continue;
                }

                IPAddress? address;
                if (!IPAddress.TryParse(host, out address))
                {
                    try
                    {
                        var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
                        address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault();
                    }
                    catch (SocketException)
                    {
                        continue;
                    }
                }

                if (address is null)
                {
                    continue;
                }

                var endPoint = new IPEndPoint(address, port);
                result.Add(isTurn ? IceServer.Turn(endPoint, server.Username!, server.Credential!) : IceServer.Stun(endPoint));
            }
        }

        return result;
    }
}
