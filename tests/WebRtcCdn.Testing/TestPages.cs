using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.FileProviders;

namespace WebRtcCdn.Testing;

/// <summary>Serves the harness's own test pages (tests/WebRtcCdn.Testing/pages) under /test/ on a test server.</summary>
public static class TestPages
{
    public const string RequestPath = "/test";

    public static void Map(WebApplication app)
    {
        var root = Path.Combine(AppContext.BaseDirectory, "pages");
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new PhysicalFileProvider(root),
            RequestPath = RequestPath,
        });
    }
}
