using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Server.Demo;
using WebRtcCdn.Server.Health;
using WebRtcCdn.Server.Edge;
using WebRtcCdn.Server.Origin;
using WebRtcCdn.Server.Signaling;
using WebRtcCdn.Server.Signaling.Transport;

namespace WebRtcCdn.Server.Hosting;

/// <summary>Builds the ASP.NET Core application from resolved options.</summary>
public static class ServerHost
{
    /// <summary>
    /// Builds the server. <paramref name="configureBuilder"/> and <paramref name="configureApp"/> let tests and
    /// embedders add services and endpoints (for example the browser test pages) without a second host.
    /// </summary>
    public static WebApplication Build(
        WebRtcCdnOptions options,
        Action<WebApplicationBuilder>? configureBuilder = null,
        Action<WebApplication>? configureApp = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        builder.Services.AddSingleton(options);
        builder.Services.AddOrigin(options);
        builder.Logging.AddFilter("Microsoft.AspNetCore", Microsoft.Extensions.Logging.LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", Microsoft.Extensions.Logging.LogLevel.Information);
        // This category only logs request start/finish (Information); while it is enabled at any level the host
        // creates an Activity and a log scope per request, which a WebSocket keeps for its whole life (~1 KB per peer).
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", Microsoft.Extensions.Logging.LogLevel.None);
        // Start-up failures are reported by ServerProgram as one line; the host's own stack-trace dump is noise.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", Microsoft.Extensions.Logging.LogLevel.None);

        var certificate = options.Signaling.Ssl.Enabled ? LoadCertificate(options.Signaling.Ssl) : null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Signaling and HTTP requests are small; 16 MiB bounds an upload request (publish uses streaming).
            kestrel.Limits.MaxRequestBodySize = 16 << 20;
            kestrel.AddServerHeader = false;
            var address = options.Signaling.Address;
            void Configure(ListenOptions listen)
            {
                // HTTP/2 needs TLS (ALPN); without it, offer HTTP/1.1 only rather than warn at every start.
                listen.Protocols = certificate is null ? HttpProtocols.Http1 : HttpProtocols.Http1AndHttp2;
                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }

                listen.UseSignalingTransport();
            }

            if (address.IsAnyHost)
            {
                kestrel.ListenAnyIP(address.Port, Configure);
            }
            else if (address.IsLocalhostName)
            {
                kestrel.ListenLocalhost(address.Port, Configure);
            }
            else
            {
                kestrel.Listen(IPAddress.Parse(address.Host), address.Port, Configure);
            }
        });

        builder.Services.AddSignaling(options);
        builder.Services.AddEdge(options);
        configureBuilder?.Invoke(builder);
        var app = builder.Build();
        app.MapHealthEndpoints();
        app.MapOrigin();
        app.MapSignaling();
        app.MapEdge();
        app.MapDemo();
        configureApp?.Invoke(app);
        return app;
    }

    /// <summary>The URLs the started server listens on (resolves port 0 to the real port).</summary>
    public static IReadOnlyList<Uri> ListeningUris(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        return addresses.Select(a => new Uri(a.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal))).ToList();
    }

    private static X509Certificate2 LoadCertificate(SslOptions ssl)
    {
        try
        {
            return X509Certificate2.CreateFromPemFile(ssl.Cert, ssl.Key);
        }
        catch (Exception e) when (e is CryptographicException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"{ConfigurationLoader.RootKey}.signaling.ssl", $"cannot load certificate '{ssl.Cert}' with key '{ssl.Key}': {e.Message}");
        }
    }
}
