using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Server.Signaling;

namespace WebRtcCdn.Server.Tracker;

/// <summary>Maps the WebTorrent-compatible tracker WebSocket at /announce.</summary>
public static class TrackerEndpoints
{
    public const string Path = "/announce";

    /// <summary>
    /// WebTorrent clients send nothing between announces (every 120 s), so the server pings every 30 s and drops a
    /// socket whose pong does not come within 30 s: a dead client leaves its swarms within a minute.
    /// </summary>
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(30);

    public static IEndpointRouteBuilder MapTracker(this IEndpointRouteBuilder endpoints)
    {
        endpoints.Map(Path, HandleAsync);
        return endpoints;
    }

    private static async Task HandleAsync(HttpContext context)
    {
        var address = await SignalingEndpoints.AdmitAsync(context, TrackerHub.Endpoint).ConfigureAwait(false);
        if (address is null)
        {
            return;
        }

        try
        {
            var limits = context.RequestServices.GetRequiredService<WebRtcCdnOptions>().Signaling.Limits;
            using var ws = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = KeepAlive, KeepAliveTimeout = KeepAlive }).ConfigureAwait(false);
            using var socket = new MessageSocket(ws, limits.MaxMessageSize, limits.SendQueue);
            await context.RequestServices.GetRequiredService<TrackerHub>().RunSessionAsync(socket, context.Connection.RemoteIpAddress).ConfigureAwait(false);
        }
        finally
        {
            context.RequestServices.GetRequiredService<ConnectionAdmission>().Release(address);
        }
    }
}
