using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using WebRtcCdn.Server.Signaling;
using WebRtcCdn.Server.Tracker;

namespace WebRtcCdn.Server.Observability;

/// <summary>GET /metrics (Prometheus text), GET /stats (JSON), GET /readyz (ready when Redis answers, if configured).</summary>
public static class ObservabilityEndpoints
{
    public static IEndpointRouteBuilder MapObservability(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/metrics", (PrometheusExporter exporter) => Results.Text(exporter.Scrape(), PrometheusExporter.ContentType));
        endpoints.MapGet("/stats", (SignalingHub hub, TrackerHub tracker, TransferStats transfers) =>
        {
            var (complete, incomplete) = tracker.Totals();
            return Results.Json(new StatsDocument(
                TotalPeers: hub.SessionCount + tracker.SessionCount,
                SignalingPeers: hub.SessionCount,
                TrackerPeers: tracker.SessionCount,
                Swarms: hub.Registry.SwarmCount + tracker.SwarmCount,
                Seeders: complete,
                Leechers: incomplete,
                ActiveTransfers: hub.ActiveTransfers,
                BytesDelivered: transfers.BytesDelivered,
                ChunksServed: transfers.ChunksServed), StatsJsonContext.Default.StatsDocument);
        });
        endpoints.MapGet("/readyz", async (SignalingHub hub) =>
        {
            if (hub.Cluster is { } cluster && !await cluster.IsReachableAsync().ConfigureAwait(false))
            {
                return Results.Text("{\"status\":\"not ready\",\"redis\":\"unreachable\"}", "application/json", statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            return Results.Text(hub.Cluster is null ? "{\"status\":\"ready\"}" : "{\"status\":\"ready\",\"redis\":\"ok\"}", "application/json");
        });
        return endpoints;
    }
}
