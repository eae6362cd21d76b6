using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using WebRtcCdn.Server.Origin;

namespace WebRtcCdn.Server.Demo;

/// <summary>
/// The demo page at <c>/</c> (clients/browser/demo/index.html), the SDK's global bundle at
/// <c>/sdk/webrtc-cdn.global.js</c>, and <c>GET /demo/content</c>, the list of published content the page
/// offers. The files are copied next to the server's binaries at build time (see the Server csproj).
/// </summary>
public static class DemoEndpoints
{
    /// <summary>Where the build puts the page and the bundle, under the application's base directory.</summary>
    public const string Folder = "demo";

    private static readonly Dictionary<string, string> Files = new(StringComparer.Ordinal)
    {
        ["/"] = "index.html",
        ["/sdk/webrtc-cdn.global.js"] = "webrtc-cdn.global.js",
        ["/sdk/webrtc-cdn.global.js.map"] = "webrtc-cdn.global.js.map",
        ["/demo/demo.js"] = "demo.js",
        ["/demo/mse-player.js"] = "mse-player.js",
        ["/demo/demo.css"] = "demo.css",
    };

    public static WebApplication MapDemo(this WebApplication app)
    {
        var root = Path.Combine(AppContext.BaseDirectory, Folder);
        foreach (var (route, file) in Files)
        {
            app.MapGet(route, (HttpContext context) => Serve(context, Path.Combine(root, file)));
        }

        app.MapGet("/demo/content", (OriginContent content) => Results.Text(ContentList(content), "application/json"));
        return app;
    }

    private static IResult Serve(HttpContext context, string path)
    {
        if (!File.Exists(path))
        {
            return Results.Text(
                $"{Path.GetFileName(path)} is missing next to the server: build the SDK first (cd clients/browser && npm ci && npm run build), then rebuild the server.\n",
                "text/plain; charset=utf-8",
                statusCode: StatusCodes.Status404NotFound);
        }

        // The page and the bundle change with every build: revalidate rather than cache stale SDK code.
        context.Response.Headers.CacheControl = "no-cache";
        var type = Path.GetExtension(path) switch
        {
            ".html" => "text/html; charset=utf-8",
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            _ => "application/json",
        };
        return Results.File(path, type);
    }

    private static string ContentList(OriginContent content)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var m in content.Store.Manifests.OrderBy(m => m.Name, StringComparer.Ordinal))
            {
                w.WriteStartObject();
                w.WriteString("id", m.Id.ToString());
                w.WriteString("name", m.Name);
                w.WriteString("mediaType", m.MediaType);
                w.WriteNumber("size", m.Size);
                w.WriteNumber("chunks", m.ChunkCount);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
