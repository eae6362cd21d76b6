using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Storage;

namespace WebRtcCdn.Server.Origin;

/// <summary>
/// The origin HTTP endpoints (docs/PROTOCOL.md, "Origin HTTP"): manifests, chunks, whole files with ranges,
/// the publish API and pull-through; CORS for the configured origins; egress counting.
/// </summary>
public static class OriginEndpoints
{
    /// <summary>Content is addressed by hash, so every response for an id is immutable: cache for a year (RFC 8246).</summary>
    private const string ImmutableCacheControl = "public, max-age=31536000, immutable";

    public static WebApplication MapOrigin(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<WebRtcCdnOptions>();
        var egress = app.Services.GetRequiredService<OriginEgress>();
        var allowed = new HashSet<string>(options.Security.AllowedOrigins, StringComparer.Ordinal);
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            if (!path.StartsWithSegments("/content") && !path.StartsWithSegments("/pull"))
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            ApplyCors(context, allowed);
            egress.AddResponse();
            var original = context.Response.Body;
            context.Response.Body = new CountingStream(original, egress);
            try
            {
                await next(context).ConfigureAwait(false);
            }
            catch (StoreUnavailableException e) when (!context.Response.HasStarted)
            {
                await Error(StatusCodes.Status503ServiceUnavailable, "store_unavailable", e.Message).ExecuteAsync(context).ConfigureAwait(false);
            }
            finally
            {
                context.Response.Body = original;
            }
        });

        app.MapMethods("/content/{id}/manifest", ["GET", "HEAD"], GetManifest);
        app.MapMethods("/content/{id}/chunks/{index}", ["GET", "HEAD"], GetChunkAsync);
        app.MapMethods("/content/{id}", ["GET", "HEAD"], GetFile);
        app.MapPost("/content", PublishAsync);
        app.MapMethods("/pull/{**path}", ["GET", "HEAD"], PullAsync);
        // Any other path under /content is an unknown resource: a JSON 404 like the rest, not an empty one.
        app.MapMethods("/content/{**rest}", ["GET", "HEAD"], () => NotFound("not_found", "no such origin resource; see docs/PROTOCOL.md, Origin HTTP"));
        app.MapMethods("/content/{**rest}", ["OPTIONS"], Preflight);
        app.MapMethods("/pull/{**rest}", ["OPTIONS"], Preflight);
        return app;
    }

    /// <summary>
    /// CORS for the browser SDK: only origins listed in security.allowed_origins get Access-Control-Allow-Origin
    /// (echoed, never "*"); same-origin pages need none. Range and ETag headers are exposed for the SDK.
    /// </summary>
    private static void ApplyCors(HttpContext context, HashSet<string> allowed)
    {
        context.Response.Headers.Append(HeaderNames.Vary, HeaderNames.Origin);
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length > 0 && allowed.Contains(origin))
        {
            var headers = context.Response.Headers;
            headers.AccessControlAllowOrigin = origin;
            headers.AccessControlExposeHeaders = "Content-Length, Content-Range, Accept-Ranges, ETag, X-Content-Id";
        }
    }

    private static IResult Preflight(HttpContext context)
    {
        if (context.Response.Headers.AccessControlAllowOrigin.Count > 0)
        {
            context.Response.Headers.AccessControlAllowMethods = "GET, HEAD";
            context.Response.Headers.AccessControlAllowHeaders = "Range, If-None-Match, If-Range";
            // Browsers cap this anyway (Chromium: 2 hours); a day saves a preflight per page view elsewhere.
            context.Response.Headers.AccessControlMaxAge = "86400";
        }

        return Results.NoContent();
    }

    private static IResult GetManifest(string id, OriginContent content, HttpContext context)
    {
        if (Find(id, content) is not { } manifest)
        {
            return NotFound("unknown_content", $"no content with id '{Truncate(id)}'");
        }

        Immutable(context, manifest.Id.ToString());
        return Results.Bytes(manifest.ToJson(), "application/json", entityTag: new EntityTagHeaderValue($"\"{manifest.Id}\""));
    }

    private static async Task<IResult> GetChunkAsync(string id, string index, OriginContent content, PullThrough pull, HttpContext context)
    {
        if (Find(id, content) is not { } manifest)
        {
            return NotFound("unknown_content", $"no content with id '{Truncate(id)}'");
        }

        if (!int.TryParse(index, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n >= manifest.ChunkCount)
        {
            var range = manifest.ChunkCount == 0 ? "no chunks" : $"chunks 0..{manifest.ChunkCount - 1}";
            return NotFound("unknown_chunk", $"content {manifest.Id} has {range}; '{Truncate(index)}' is not one of them");
        }

        var hash = manifest.Chunks[n];
        var data = await content.Store.GetAsync(hash, context.RequestAborted).ConfigureAwait(false);
        if (data is null && content.Store.GetKind(manifest.Id) == StoredContentKind.Cached && await RefetchAsync(manifest, content, pull, context).ConfigureAwait(false))
        {
            data = await content.Store.GetAsync(hash, context.RequestAborted).ConfigureAwait(false);
        }

        if (data is null)
        {
            return Error(StatusCodes.Status503ServiceUnavailable, "chunk_unavailable", $"chunk {n} of {manifest.Id} is not in the store (evicted or corrupt)");
        }

        Immutable(context, manifest.Id.ToString());
        return Results.Bytes(data.Value, "application/octet-stream", enableRangeProcessing: true, entityTag: new EntityTagHeaderValue($"\"{hash}\""));
    }

    private static async Task<IResult> GetFile(string id, OriginContent content, PullThrough pull, HttpContext context)
    {
        if (Find(id, content) is not { } manifest)
        {
            return NotFound("unknown_content", $"no content with id '{Truncate(id)}'");
        }

        return await ServeFileAsync(manifest, content, pull, context).ConfigureAwait(false);
    }

    private static async Task<IResult> ServeFileAsync(Manifest manifest, OriginContent content, PullThrough pull, HttpContext context)
    {
        if (!content.IsComplete(manifest)
            && !(content.Store.GetKind(manifest.Id) == StoredContentKind.Cached && await RefetchAsync(manifest, content, pull, context).ConfigureAwait(false)))
        {
            return Error(StatusCodes.Status503ServiceUnavailable, "chunk_unavailable", $"content {manifest.Id} is incomplete in the store (evicted or corrupt chunks)");
        }

        Immutable(context, manifest.Id.ToString());
        // Publisher-chosen bytes served from our own origin: never let a browser sniff or run them as our page.
        context.Response.Headers.XContentTypeOptions = "nosniff";
        context.Response.Headers.ContentSecurityPolicy = "sandbox; default-src 'none'";
        return Results.Stream(new ContentReadStream(content.Store, manifest), manifest.MediaType, enableRangeProcessing: true, entityTag: new EntityTagHeaderValue($"\"{manifest.Id}\""));
    }

    private static async Task<IResult> PullAsync(string path, OriginContent content, PullThrough pull, HttpContext context)
    {
        if (!pull.Enabled)
        {
            return NotFound("pull_through_disabled", "no upstream origin is configured (content.upstream)");
        }

        if (pull.Resolve(path) is not { } url)
        {
            return NotFound("invalid_path", "the path does not name a file under the upstream origin");
        }

        try
        {
            var manifest = await pull.GetAsync(url, context.RequestAborted).ConfigureAwait(false);
            return await ServeFileAsync(manifest, content, pull, context).ConfigureAwait(false);
        }
        catch (UpstreamException e)
        {
            return e.StatusCode == 404 ? NotFound("not_found_upstream", e.Message) : Error(StatusCodes.Status502BadGateway, "upstream_failed", e.Message);
        }
    }

    /// <summary>Cached (pull-through) content whose chunks were evicted is fetched again from upstream.</summary>
    private static async Task<bool> RefetchAsync(Manifest manifest, OriginContent content, PullThrough pull, HttpContext context)
    {
        if (!pull.Enabled || content.Store.FindAliasKey(manifest.Id) is not { } key || !Uri.TryCreate(key, UriKind.Absolute, out var url))
        {
            return false;
        }

        try
        {
            var again = await pull.GetAsync(url, context.RequestAborted).ConfigureAwait(false);
            return again.Id == manifest.Id && content.IsComplete(manifest);
        }
        catch (UpstreamException)
        {
            return false;
        }
    }

    /// <summary>
    /// POST /content?name=NAME[&amp;type=MEDIA/TYPE] with the file as the body, authorised by
    /// "Authorization: Bearer &lt;content.publish_token&gt;". The body is streamed: one chunk in memory at a time.
    /// </summary>
    private static async Task<IResult> PublishAsync(HttpContext context, OriginContent content)
    {
        var token = content.Options.PublishToken;
        if (token.Length == 0)
        {
            return NotFound("publish_disabled", "the publish API is disabled: set content.publish_token to enable it");
        }

        var header = context.Request.Headers.Authorization.ToString();
        var presented = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..].Trim() : string.Empty;
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(token))))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return Error(StatusCodes.Status401Unauthorized, "unauthorized", "a valid 'Authorization: Bearer <publish token>' header is required");
        }

        var name = context.Request.Query["name"].ToString();
        var type = context.Request.Query["type"].ToString();
        if (type.Length == 0)
        {
            type = MediaTypes.FromFileName(name);
        }

        if (Manifest.Validate(name, type, 0, Manifest.MinChunkSize, 0, null) is { } problem)
        {
            return Error(StatusCodes.Status400BadRequest, "invalid_request", problem);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            // Kestrel's 16 MiB default is for signaling; a publish is bounded by the cache it goes into.
            limit.MaxRequestBodySize = content.Options.MaxCacheSize;
        }

        Manifest manifest;
        try
        {
            manifest = await content.PublishAsync(context.Request.Body, name, type, StoredContentKind.Published, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FormatException or BadHttpRequestException)
        {
            return Error(e is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status400BadRequest, "invalid_request", e.Message);
        }

        var id = manifest.Id.ToString();
        return Results.Json(
            new PublishResponse(id, manifest.Name, manifest.MediaType, manifest.Size, manifest.ChunkCount, $"/content/{id}", $"/content/{id}/manifest"),
            OriginJsonContext.Default.PublishResponse,
            statusCode: StatusCodes.Status201Created);
    }

    private static Manifest? Find(string id, OriginContent content) =>
        ContentId.TryParse(id, out var contentId) ? content.GetManifest(contentId) : null;

    private static void Immutable(HttpContext context, string id)
    {
        context.Response.Headers.CacheControl = ImmutableCacheControl;
        context.Response.Headers["X-Content-Id"] = id;
    }

    private static IResult NotFound(string code, string message) => Error(StatusCodes.Status404NotFound, code, message);

    private static IResult Error(int status, string code, string message) =>
        Results.Json(new OriginError(code, message), OriginJsonContext.Default.OriginError, statusCode: status);

    /// <summary>Echoed request text is cut short: an error body must not amplify a huge path.</summary>
    private static string Truncate(string text) => text.Length <= 80 ? text : text[..80] + "...";
}
