using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Signaling;
using WebRtcCdn.Server.Signaling;

namespace WebRtcCdn.Server.Edge;

/// <summary>
/// <c>POST /rtc/offer?content=ID</c> (body: an SDP offer, <c>application/sdp</c>) answers 201 with the SDP answer and
/// <c>Location: /rtc/offer/{session}</c>; <c>DELETE</c> of that location closes the connection. Like WHIP/WHEP:
/// any standard WebRTC peer can use it (docs/PROTOCOL.md, "Edge: direct offer").
/// </summary>
public static class EdgeEndpoints
{
    public static IServiceCollection AddEdge(this IServiceCollection services, WebRtcCdnOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton<EdgeSeeder>();
        services.AddSingleton<EdgeSwarmMembership>();
        services.AddHostedService(sp => sp.GetRequiredService<EdgeSwarmMembership>());
        return services;
    }

    public static IEndpointRouteBuilder MapEdge(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/rtc/offer", OfferAsync);
        endpoints.MapMethods("/rtc/offer", ["OPTIONS"], Preflight);
        endpoints.MapDelete("/rtc/offer/{id}", async (HttpContext context, string id, EdgeSeeder edge) =>
        {
            if (!Cors(context))
            {
                return Error(403, "origin_not_allowed", "this page's origin is not in security.allowed_origins");
            }

            return await edge.CloseAsync(id).ConfigureAwait(false) ? Results.NoContent() : Error(404, "unknown_session", "no such edge session");
        });
        endpoints.MapMethods("/rtc/offer/{id}", ["OPTIONS"], Preflight);
        return endpoints;
    }

    private static IResult Preflight(HttpContext context)
    {
        if (Cors(context) && context.Request.Headers.Origin.Count > 0)
        {
            context.Response.Headers.AccessControlAllowMethods = "POST, DELETE";
            context.Response.Headers.AccessControlAllowHeaders = "Content-Type, Authorization";
            context.Response.Headers.AccessControlMaxAge = "86400";
        }

        return Results.NoContent();
    }

    private static async Task<IResult> OfferAsync(HttpContext context, EdgeSeeder edge, WebRtcCdnOptions options)
    {
        if (!Cors(context))
        {
            return Error(403, "origin_not_allowed", "this page's origin is not in security.allowed_origins");
        }

        if (!edge.Enabled)
        {
            return Error(404, "edge_disabled", "the edge seeder is disabled (edge.enabled)");
        }

        var request = context.Request;
        if (!ContentId.TryParse(request.Query["content"].ToString(), out var contentId))
        {
            return Error(400, "invalid_request", "query parameter 'content' must be a content id (64 lower-case hex digits)");
        }

        if (options.Signaling.TokenSecret.Length > 0)
        {
            var token = request.Query["token"].ToString();
            var header = request.Headers.Authorization.ToString();
            if (token.Length == 0 && header.StartsWith("Bearer ", StringComparison.Ordinal))
            {
                token = header["Bearer ".Length..].Trim();
            }

            var status = JoinToken.Verify(options.Signaling.TokenSecret, token, contentId.ToString(), DateTimeOffset.UtcNow);
            if (status != JoinTokenStatus.Valid)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                return Error(401, "unauthorized", $"join token {status.ToString().ToLowerInvariant()}: a token for this content's swarm is required");
            }
        }

        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || !type.MediaType.Equals("application/sdp", StringComparison.OrdinalIgnoreCase))
        {
            return Error(415, "unsupported_media_type", "the body must be an SDP offer with Content-Type: application/sdp");
        }

        var limit = edge.MaxOfferSize;
        if (request.ContentLength > limit)
        {
            return Error(413, "offer_too_large", $"the offer is larger than {limit} bytes (edge.max_offer_size)");
        }

        var body = new byte[limit + 1];
        var length = 0;
        int read;
        while (length <= limit && (read = await request.Body.ReadAsync(body.AsMemory(length), context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            length += read;
        }

        if (length > limit)
        {
            return Error(413, "offer_too_large", $"the offer is larger than {limit} bytes (edge.max_offer_size)");
        }

        string sdp;
        try
        {
            sdp = new UTF8Encoding(false, true).GetString(body, 0, length);
        }
        catch (DecoderFallbackException)
        {
            return Error(400, "invalid_sdp", "the offer is not UTF-8 text");
        }

        try
        {
            var (id, answer) = await edge.AnswerAsync(contentId, sdp, context.RequestAborted).ConfigureAwait(false);
            context.Response.Headers.Location = $"/rtc/offer/{id}";
            context.Response.Headers.AccessControlExposeHeaders = "Location";
            return Results.Text(answer, "application/sdp", Encoding.UTF8, StatusCodes.Status201Created);
        }
        catch (EdgeOfferException e)
        {
            return Error(e.Status, e.Code, e.Message);
        }
    }

    /// <summary>CORS per security.allowed_origins: an allowed (or the server's own, or no) Origin passes and is echoed; others are refused.</summary>
    private static bool Cors(HttpContext context)
    {
        var policy = new OriginPolicy(context.RequestServices.GetRequiredService<WebRtcCdnOptions>().Security);
        if (!policy.IsAllowed(context.Request))
        {
            return false;
        }

        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length > 0)
        {
            context.Response.Headers.AccessControlAllowOrigin = origin;
            context.Response.Headers.Vary = "Origin";
        }

        return true;
    }

    private static IResult Error(int status, string code, string message) =>
        Results.Json(new Dictionary<string, string> { ["error"] = code, ["message"] = message }, statusCode: status);
}
