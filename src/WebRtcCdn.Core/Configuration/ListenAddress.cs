using System.Globalization;
using System.Net;

namespace WebRtcCdn.Core.Configuration;

/// <summary>
/// Where the server listens: "127.0.0.1:8080", ":8080" (every interface, as in the seed's configuration),
/// "[::1]:8080", "localhost:8080".
/// </summary>
public sealed record ListenAddress(string Host, int Port)
{
    /// <summary>The embedded default: loopback only, so that a server started without configuration is not exposed.</summary>
    public static ListenAddress Default { get; } = new("127.0.0.1", 8080);

    /// <summary>True when <see cref="Host"/> is empty: listen on every interface.</summary>
    public bool IsAnyHost => Host.Length == 0;

    public bool IsLocalhostName => string.Equals(Host, "localhost", StringComparison.OrdinalIgnoreCase);

    public static ListenAddress Parse(string text)
    {
        if (!TryParse(text, out var address, out var error))
        {
            throw new FormatException(error);
        }

        return address!;
    }

    public static bool TryParse(string? text, out ListenAddress? address, out string error)
    {
        address = null;
        var s = (text ?? string.Empty).Trim();
        const string Expected = "expected host:port such as 127.0.0.1:8080, :8080 or [::1]:8080";
        var colon = s.LastIndexOf(':');
        if (colon < 0)
        {
            error = $"invalid address '{s}': missing port; {Expected}";
            return false;
        }

        var host = s[..colon];
        var portText = s[(colon + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 0 or > 65535)
        {
            error = $"invalid address '{s}': port '{portText}' is not a number from 0 to 65535";
            return false;
        }

        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                error = $"invalid address '{s}': '{host}' is not an IPv6 address";
                return false;
            }
        }
        else if (host.Contains(':', StringComparison.Ordinal))
        {
            error = $"invalid address '{s}': write IPv6 hosts in brackets, such as [::1]:8080";
            return false;
        }
        else if (host.Length > 0 && !IPAddress.TryParse(host, out _) && !string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            error = $"invalid address '{s}': host '{host}' must be an IP address, 'localhost' or empty (every interface)";
            return false;
        }

        address = new ListenAddress(host, port);
        error = string.Empty;
        return true;
    }

    public override string ToString() =>
        Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
