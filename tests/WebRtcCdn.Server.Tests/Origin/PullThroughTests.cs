using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using WebRtcCdn.Server.Origin;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Origin;

public sealed class PullThroughTests : IAsyncLifetime
{
    private readonly string _store = Path.Combine(Path.GetTempPath(), "webrtc-cdn-pull-" + Guid.NewGuid().ToString("N"));
    private readonly byte[] _data = RandomNumberGenerator.GetBytes(100_000);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication _upstream = null!;
    private int _upstreamRequests;
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _upstream = builder.Build();
        _upstream.MapGet("/media/{name}", async (string name, HttpContext context) =>
        {
            Interlocked.Increment(ref _upstreamRequests);
            if (name != "clip.mp4" && name != "slow.bin")
            {
                return Results.NotFound();
            }

            if (name == "slow.bin")
            {
                await _release.Task.WaitAsync(TimeSpan.FromSeconds(30));
            }

            return Results.Bytes(_data, "video/mp4");
        });
        _upstream.MapGet("/secret.txt", () => "outside the upstream base");
        await _upstream.StartAsync();
        var upstreamUri = WebRtcCdn.Server.Hosting.ServerHost.ListeningUris(_upstream)[0];
        _server = await TestServer.StartAsync(o =>
        {
            o.Content.StorePath = _store;
            o.Content.Upstream = new Uri(upstreamUri, "/media/").AbsoluteUri;
            o.P2P.ChunkSize = 16 << 10;
            // No memory tier: reads go through the disk tier's verification.
            o.Content.MemoryCacheSize = 0;
        });
    }

    public async Task DisposeAsync()
    {
        _release.TrySetResult();
        await _server.DisposeAsync();
        await _upstream.StopAsync();
        await _upstream.DisposeAsync();
        if (Directory.Exists(_store))
        {
            Directory.Delete(_store, recursive: true);
        }
    }

    [Fact]
    public async Task First_request_fetches_and_stores_later_ones_are_served_from_the_store()
    {
        using var http = _server.CreateClient();
        using var first = await http.GetAsync("/pull/clip.mp4");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("video/mp4", first.Content.Headers.ContentType!.MediaType);
        Assert.Equal(_data, await first.Content.ReadAsByteArrayAsync());
        var id = first.Headers.GetValues("X-Content-Id").Single();

        using var second = await http.GetAsync("/pull/clip.mp4");
        Assert.Equal(_data, await second.Content.ReadAsByteArrayAsync());
        Assert.Equal(_data, await http.GetByteArrayAsync($"/content/{id}"));
        Assert.Equal(_data[..(16 << 10)], await http.GetByteArrayAsync($"/content/{id}/chunks/0"));
        Assert.Equal(1, _upstreamRequests);
    }

    [Fact]
    public async Task Concurrent_first_requests_share_one_upstream_fetch()
    {
        const int Clients = 6;
        var pull = _server.Services.GetRequiredService<PullThrough>();
        var joined = 0;
        var allJoined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        pull.Joined += _ =>
        {
            if (Interlocked.Increment(ref joined) == Clients)
            {
                allJoined.TrySetResult();
            }
        };

        var clients = Enumerable.Range(0, Clients).Select(_ => _server.CreateClient()).ToArray();
        var requests = clients.Select(c => c.GetByteArrayAsync("/pull/slow.bin")).ToArray();
        await allJoined.Task.WaitAsync(TimeSpan.FromSeconds(30));
        _release.SetResult();
        foreach (var body in await Task.WhenAll(requests))
        {
            Assert.Equal(_data, body);
        }

        Assert.Equal(1, _upstreamRequests);
        Assert.Equal(1, pull.Fetches);
        foreach (var c in clients)
        {
            c.Dispose();
        }
    }

    [Fact]
    public async Task Cached_content_whose_chunk_went_bad_is_fetched_again_from_upstream()
    {
        using var http = _server.CreateClient();
        using var first = await http.GetAsync("/pull/clip.mp4");
        var id = first.Headers.GetValues("X-Content-Id").Single();
        var content = _server.Services.GetRequiredService<OriginContent>();
        var manifest = content.GetManifest(WebRtcCdn.Core.Content.ContentId.TryParse(id, out var cid) ? cid : default)!;
        Assert.Equal("clip.mp4", manifest.Name);
        var hash = manifest.Chunks[2].ToHex();
        var path = Path.Combine(_store, "chunks", hash[..2], hash);
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[^1] ^= 0x40;
        await File.WriteAllBytesAsync(path, bytes);

        var chunk = await http.GetByteArrayAsync($"/content/{id}/chunks/2");

        Assert.Equal(_data.AsSpan(2 * (16 << 10), 16 << 10).ToArray(), chunk);
        Assert.Equal(1, content.Store.CorruptChunks);
        Assert.Equal(2, _upstreamRequests);
    }

    [Theory]
    [InlineData("/pull/missing.bin", HttpStatusCode.NotFound, "not_found_upstream")]
    [InlineData("/pull/..%2Fsecret.txt", HttpStatusCode.NotFound, "invalid_path")]
    [InlineData("/pull/a%5C..%5C..%5Csecret.txt", HttpStatusCode.NotFound, "invalid_path")]
    [InlineData("/pull/a//b", HttpStatusCode.NotFound, "invalid_path")]
    public async Task Bad_paths_and_upstream_misses_are_json_errors(string path, HttpStatusCode status, string code)
    {
        using var http = _server.CreateClient();
        using var response = await http.GetAsync(path);
        await OriginEndpointsTests.AssertErrorAsync(response, status, code);
    }
}
