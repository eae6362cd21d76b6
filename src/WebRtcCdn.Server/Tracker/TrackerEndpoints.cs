using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Server.Cluster;
using WebRtcCdn.Server.Observability;
using WebRtcCdn.Server.Signaling;

namespace WebRtcCdn.Server.Tracker;

/// <summary>Registers and maps the WebTorrent-compatible tracker WebSocket at /announce.</summary>
public static class TrackerEndpoints
{
    public const string Path = "/announce";

    /// <summary>
    /// WebTorrent clients send nothing between announces (every 120 s), so the server pings every 30 s and drops a
    /// socket whose pong does not come within 30 s: a dead client leaves its swarms within a minute.
    /// </summary>
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(30);

    /// <summary>The tracker hub, and with signaling.redis its cluster (the same Redis and TTL as /signaling's).</summary>
    public static IServiceCollection AddTracker(this IServiceCollection services, WebRtcCdnOptions options)
    {
        if (options.Signaling.Redis.Length > 0)
        {
            services.TryAddSingleton(_ => new RedisConnection(options.Signaling.Redis));
            services.AddSingleton<ITrackerCluster>(sp => new RedisTrackerCluster(
                sp.GetRequiredService<RedisConnection>(),
                options.Signaling.Limits.ClusterTtl,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<RedisTrackerCluster>>()));
        }

        services.AddSingleton(sp => new TrackerHub(
            options,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<SignalingMetrics>(),
            sp.GetRequiredService<TransferStats>(),
            sp.GetRequiredService<ILogger<TrackerHub>>(),
            sp.GetService<ITrackerCluster>()));
        services.AddHostedService<TrackerStartup>();
        return services;
    }

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

    /// <summary>Connects the tracker's cluster with the host and disconnects it at shutdown.</summary>
    private sealed class TrackerStartup(TrackerHub hub) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => hub.StartAsync(cancellationToken);

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            hub.CloseAll();
            if (hub.Cluster is { } cluster)
            {
                await cluster.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
