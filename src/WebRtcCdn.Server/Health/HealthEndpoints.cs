using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace WebRtcCdn.Server.Health;

/// <summary>Liveness: <c>GET /healthz</c> answers while the process serves requests.</summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", () => Results.Text("{\"status\":\"ok\"}", "application/json"));
        return endpoints;
    }
}
