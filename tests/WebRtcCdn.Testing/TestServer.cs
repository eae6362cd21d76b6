using Microsoft.AspNetCore.Builder;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Server.Hosting;

namespace WebRtcCdn.Testing;

/// <summary>
/// A real Kestrel server (the product's own <see cref="ServerHost"/>) started in-process on a free loopback
/// port. Tests talk to it over real sockets through <see cref="BaseUri"/>.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    private TestServer(WebApplication app, Uri baseUri, WebRtcCdnOptions options)
    {
        App = app;
        BaseUri = baseUri;
        Options = options;
    }

    public WebApplication App { get; }

    public Uri BaseUri { get; }

    public WebRtcCdnOptions Options { get; }

    public IServiceProvider Services => App.Services;

    /// <summary>
    /// Starts a server. <paramref name="configure"/> adjusts the options (the listen address is forced to
    /// 127.0.0.1:0 unless the caller sets another); the hooks add services and endpoints.
    /// </summary>
    public static async Task<TestServer> StartAsync(
        Action<WebRtcCdnOptions>? configure = null,
        Action<WebApplicationBuilder>? configureBuilder = null,
        Action<WebApplication>? configureApp = null)
    {
        var options = new WebRtcCdnOptions();
        options.Signaling.Address = new ListenAddress("127.0.0.1", 0);
        configure?.Invoke(options);
        var app = ServerHost.Build(
            options,
            builder =>
            {
                builder.Logging.SetMinimumLevelForTests();
                configureBuilder?.Invoke(builder);
            },
            configureApp);
        await app.StartAsync().ConfigureAwait(false);
        var uri = ServerHost.ListeningUris(app)[0];
        return new TestServer(app, uri, options);
    }

    public HttpClient CreateClient() => new() { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>
    /// Publishes <paramref name="content"/> through the real publish endpoint with the server's configured
    /// <c>content.publish_token</c> and returns its content id (64 hex characters); anything but 201 Created throws.
    /// </summary>
    public async Task<string> PublishAsync(byte[] content, string name)
    {
        using var http = CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/content?name=" + Uri.EscapeDataString(name)) { Content = new ByteArrayContent(content) };
        request.Headers.Authorization = new("Bearer", Options.Content.PublishToken);
        using var response = await http.SendAsync(request).ConfigureAwait(false);
        if (response.StatusCode != System.Net.HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"publishing {name} answered {(int)response.StatusCode}, not 201: {await response.Content.ReadAsStringAsync().ConfigureAwait(false)}");
        }

        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync().ConfigureAwait(false));
        return json.RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>The WebSocket form of a path on this server ("/signaling" becomes ws://127.0.0.1:port/signaling).</summary>
    public Uri WebSocketUri(string path) =>
        new UriBuilder(BaseUri) { Scheme = BaseUri.Scheme == "https" ? "wss" : "ws", Path = path }.Uri;

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync().ConfigureAwait(false);
        await App.DisposeAsync().ConfigureAwait(false);
    }
}
