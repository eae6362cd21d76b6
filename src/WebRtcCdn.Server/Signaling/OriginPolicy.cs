using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using WebRtcCdn.Core.Configuration;

namespace WebRtcCdn.Server.Signaling;

/// <summary>
/// Which web pages may open the server's WebSockets (security.allowed_origins). A browser always sends
/// <c>Origin</c> on a WebSocket upgrade; a request whose Origin is neither this server's own origin nor on the
/// list is refused before the upgrade. Requests without Origin come from non-browser clients (edges, natives,
/// Node) that a page cannot impersonate, and are allowed.
/// </summary>
public sealed class OriginPolicy(SecurityOptions security)
{
    private readonly HashSet<string> _allowed = new(security.AllowedOrigins, StringComparer.OrdinalIgnoreCase);

    public bool IsAllowed(HttpRequest request) =>
        IsAllowed(request.Headers[HeaderNames.Origin].ToString(), request.Scheme, request.Host.Value ?? string.Empty);

    /// <summary>The same check from the raw handshake (the lean /signaling transport has no HttpRequest).</summary>
    public bool IsAllowed(string? origin, string scheme, string host)
    {
        if (string.IsNullOrEmpty(origin))
        {
            return true;
        }

        if (_allowed.Contains(origin))
        {
            return true;
        }

        var own = $"{scheme}://{host}";
        return string.Equals(origin, own, StringComparison.OrdinalIgnoreCase);
    }
}
