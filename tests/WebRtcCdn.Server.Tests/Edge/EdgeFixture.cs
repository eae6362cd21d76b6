using System.Net;
using System.Text.Json;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Edge;

/// <summary>A real server with the edge enabled on a loopback UDP port, and one published file.</summary>
internal sealed class EdgeFixture : IAsyncDisposable
{
    public const string PublishToken = "edge-test-publish-token-0123456789";
    public const int ChunkSize = 64 << 10;

    private readonly string _dir;

    private EdgeFixture(string dir, TestServer server, byte[] content, ContentId id)
    {
        _dir = dir;
        Server = server;
        Content = content;
        Id = id;
    }

    public TestServer Server { get; }

    public byte[] Content { get; }

    public ContentId Id { get; }

    public static async Task<EdgeFixture> StartAsync(
        int size = 300_000,
        string tokenSecret = "",
        Action<Microsoft.AspNetCore.Builder.WebApplication>? configureApp = null,
        Action<WebRtcCdn.Core.Configuration.WebRtcCdnOptions>? configure = null,
        Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configureBuilder = null)
    {
        var dir = Path.Combine(Path.GetTempPath(), "webrtc-cdn-edge-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var server = await TestServer.StartAsync(
            o =>
            {
                o.Content.StorePath = Path.Combine(dir, "store");
                o.Content.PublishToken = PublishToken;
                o.P2P.ChunkSize = ChunkSize;
                o.Edge.Enabled = true;
                o.Edge.BindAddress = "127.0.0.1";
                o.Signaling.TokenSecret = tokenSecret;
                o.Edge.MaxOfferSize = 16 << 10;
                configure?.Invoke(o);
            },
            configureBuilder,
            configureApp);
        var content = new byte[size];
        new Random(11).NextBytes(content);
        using var http = server.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/content?name=edge.bin") { Content = new ByteArrayContent(content) };
        request.Headers.Authorization = new("Bearer", PublishToken);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(ContentId.TryParse(json.RootElement.GetProperty("id").GetString(), out var id));
        return new EdgeFixture(dir, server, content, id);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}
