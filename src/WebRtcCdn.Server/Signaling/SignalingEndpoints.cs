using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Core.Signaling;
using WebRtcCdn.Server.Cluster;
using WebRtcCdn.Server.Observability;
using WebRtcCdn.Server.Tracker;

namespace WebRtcCdn.Server.Signaling;

/// <summary>Registers and maps the signaling node: /signaling, /announce, and the observability endpoints.</summary>
public static class SignalingEndpoints
{
    public static IServiceCollection AddSignaling(this IServiceCollection services, WebRtcCdnOptions options)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddSingleton<SignalingMetrics>();
        services.AddSingleton<PrometheusExporter>();
        services.AddSingleton<TransferStats>();
        services.AddSingleton(new OriginPolicy(options.Security));
        services.AddSingleton(new ConnectionAdmission(options.Signaling.Limits.ConnectionsPerIp, options.P2P.MaxPeers));
        if (options.Signaling.Redis.Length > 0)
        {
            // One connection per node for both clusters (/signaling here, /announce in AddTracker).
            services.TryAddSingleton(_ => new RedisConnection(options.Signaling.Redis));
            services.AddSingleton<ISignalingCluster>(sp => new RedisSignalingCluster(
                sp.GetRequiredService<RedisConnection>(),
                options.Signaling.Limits.ClusterTtl,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<RedisSignalingCluster>>()));
        }

        services.AddSingleton(sp => new SignalingHub(
            options,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<SignalingHub>>(),
            sp.GetRequiredService<SignalingMetrics>(),
            sp.GetRequiredService<TransferStats>(),
            sp.GetService<ISignalingCluster>()));
        services.AddTracker(options);
        services.AddHostedService<SignalingStartup>();
        if (options.Signaling.Listen is not null)
        {
            services.AddSingleton<Transport.RawSignalingListener>();
            services.AddHostedService(sp => sp.GetRequiredService<Transport.RawSignalingListener>());
        }

        return services;
    }

    public static WebApplication MapSignaling(this WebApplication endpoints)
    {
        endpoints.UseWebSockets();
        endpoints.Map(SignalingProtocol.Path, HandleAsync);
        endpoints.MapTracker();
        endpoints.MapObservability();
        return endpoints;
    }

    /// <summary>
    /// The checks every WebSocket endpoint makes before the upgrade: a WebSocket request, an allowed origin, and
    /// the connection caps. Returns the admitted address, or null after writing the refusal.
    /// </summary>
    internal static async Task<IPAddress?> AdmitAsync(HttpContext context, string endpoint)
    {
        var services = context.RequestServices;
        var metrics = services.GetRequiredService<SignalingMetrics>();
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await Refuse(context, StatusCodes.Status426UpgradeRequired, "a WebSocket upgrade is required here").ConfigureAwait(false);
            return null;
        }

        if (!services.GetRequiredService<OriginPolicy>().IsAllowed(context.Request))
        {
            metrics.Rejected(endpoint, "origin");
            await Refuse(context, StatusCodes.Status403Forbidden, "origin not allowed (security.allowed_origins)").ConfigureAwait(false);
            return null;
        }

        var address = context.Connection.RemoteIpAddress ?? IPAddress.None;
        switch (services.GetRequiredService<ConnectionAdmission>().TryAdmit(address))
        {
            case AdmissionResult.TooManyFromAddress:
                metrics.Rejected(endpoint, "connections-per-ip");
                await Refuse(context, StatusCodes.Status429TooManyRequests, "too many connections from this address").ConfigureAwait(false);
                return null;
            case AdmissionResult.NodeFull:
                metrics.Rejected(endpoint, "node-full");
                await Refuse(context, StatusCodes.Status503ServiceUnavailable, "this node holds its maximum number of peers (p2p.max_peers)").ConfigureAwait(false);
                return null;
            default:
                return address;
        }
    }

    /// <summary>
    /// /signaling through the HTTP pipeline: the refusals (426, 400, 403, 429, 503), and the upgrades the lean
    /// transport does not take (HTTP/2, a later request on a keep-alive connection, unusual requests).
    /// </summary>
    private static async Task HandleAsync(HttpContext context)
    {
        // Parsed here rather than through Request.Query, which caches the parsed collection on the HttpContext
        // for as long as the WebSocket lives.
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(context.Request.QueryString.Value);
        var version = query.TryGetValue("v", out var v) ? v.ToString() : string.Empty;
        if (version.Length > 0 && version != "1")
        {
            await Refuse(context, StatusCodes.Status400BadRequest, $"unsupported protocol version '{version}'; this server speaks v={SignalingProtocol.Version}").ConfigureAwait(false);
            return;
        }

        var address = await AdmitAsync(context, SignalingHub.Endpoint).ConfigureAwait(false);
        if (address is null)
        {
            return;
        }

        var admission = context.RequestServices.GetRequiredService<ConnectionAdmission>();
        try
        {
            var hub = context.RequestServices.GetRequiredService<SignalingHub>();
            var resumed = hub.ResumeTokens.Validate(query.TryGetValue("resume", out var resume) ? resume.ToString() : string.Empty);
            var limits = context.RequestServices.GetRequiredService<WebRtcCdnOptions>().Signaling.Limits;
            using var ws = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = TimeSpan.Zero }).ConfigureAwait(false);
            using var socket = new MessageSocket(ws, limits.MaxMessageSize, limits.SendQueue);
            await hub.RunSessionAsync(socket, context.Connection.RemoteIpAddress, resumed).ConfigureAwait(false);
        }
        finally
        {
            admission.Release(address);
        }
    }

    private static async Task Refuse(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(message + "\n").ConfigureAwait(false);
    }

    /// <summary>Starts the hub (and the cluster connection) with the host; closes sessions at shutdown.</summary>
    private sealed class SignalingStartup(SignalingHub hub, TrackerHub tracker, IEnumerable<ISignalingCluster> clusters, PrometheusExporter exporter, IHostApplicationLifetime lifetime) : IHostedService
    {
        private CancellationTokenRegistration _stopping;

        // Created with the host so that the exporter listens from the first measurement on.
        public PrometheusExporter Exporter { get; } = exporter;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            // Close the WebSockets when shutdown begins: Kestrel otherwise waits for them up to its shutdown timeout.
            _stopping = lifetime.ApplicationStopping.Register(() =>
            {
                hub.CloseAll();
                tracker.CloseAll();
            });
            return hub.StartAsync(cancellationToken);
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            await _stopping.DisposeAsync().ConfigureAwait(false);
            await hub.DisposeAsync().ConfigureAwait(false);
            foreach (var cluster in clusters)
            {
                await cluster.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
