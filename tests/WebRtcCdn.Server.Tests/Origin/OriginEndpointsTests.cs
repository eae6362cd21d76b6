using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Storage;
using WebRtcCdn.Server.Origin;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Origin;

public sealed class OriginEndpointsTests : IAsyncLifetime
{
    private const string Token = "test-publish-token-0123456789";
    private const int ChunkSize = 16 << 10;
    private readonly string _store = Path.Combine(Path.GetTempPath(), "webrtc-cdn-origin-" + Guid.NewGuid().ToString("N"));
    private readonly byte[] _data = RandomNumberGenerator.GetBytes((3 * ChunkSize) + 1234);
    private TestServer _server = null!;
    private HttpClient _http = null!;
    private string _id = string.Empty;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(o =>
        {
            o.Content.StorePath = _store;
            o.Content.PublishToken = Token;
            o.P2P.ChunkSize = ChunkSize;
            // No memory tier: every read goes through the disk tier's verification.
            o.Content.MemoryCacheSize = 0;
            o.Security.AllowedOrigins.Add("https://app.example.com");
        });
        _http = _server.CreateClient();
        _id = await PublishAsync(_data, "movie.mp4");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
        if (Directory.Exists(_store))
        {
            Directory.Delete(_store, recursive: true);
        }
    }

    private async Task<string> PublishAsync(byte[] data, string name, string token = Token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/content?name={Uri.EscapeDataString(name)}") { Content = new ByteArrayContent(data) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal($"/content/{body.RootElement.GetProperty("id").GetString()}", body.RootElement.GetProperty("url").GetString());
        return body.RootElement.GetProperty("id").GetString()!;
    }

    [Fact]
    public async Task Manifest_describes_the_published_bytes()
    {
        using var response = await _http.GetAsync($"/content/{_id}/manifest");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("immutable", response.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
        Assert.True(Manifest.TryParse(await response.Content.ReadAsByteArrayAsync(), out var manifest, out var error), error);
        Assert.Equal(_id, manifest!.Id.ToString());
        Assert.Equal(_data.Length, manifest.Size);
        Assert.Equal("video/mp4", manifest.MediaType);
        Assert.Equal(4, manifest.ChunkCount);
        Assert.Equal(Sha256Digest.Compute(_data.AsSpan(0, ChunkSize)), manifest.Chunks[0]);
    }

    [Fact]
    public async Task Chunks_are_immutable_with_the_hash_as_strong_etag()
    {
        for (var n = 0; n < 4; n++)
        {
            using var response = await _http.GetAsync($"/content/{_id}/chunks/{n}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var bytes = await response.Content.ReadAsByteArrayAsync();
            Assert.Equal(_data.AsSpan(n * ChunkSize, Math.Min(ChunkSize, _data.Length - (n * ChunkSize))).ToArray(), bytes);
            Assert.Equal($"\"{Sha256Digest.Compute(bytes)}\"", response.Headers.ETag!.ToString());
            Assert.False(response.Headers.ETag.IsWeak);
            Assert.Equal("public, max-age=31536000, immutable", response.Headers.CacheControl!.ToString());
        }

        using var conditional = new HttpRequestMessage(HttpMethod.Get, $"/content/{_id}/chunks/0");
        conditional.Headers.IfNoneMatch.Add(new EntityTagHeaderValue($"\"{Sha256Digest.Compute(_data.AsSpan(0, ChunkSize))}\""));
        using var notModified = await _http.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
    }

    [Fact]
    public async Task Whole_file_has_its_content_type_and_serves_ranges()
    {
        using var whole = await _http.GetAsync($"/content/{_id}");
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal("video/mp4", whole.Content.Headers.ContentType!.MediaType);
        Assert.Equal("bytes", whole.Headers.AcceptRanges.Single());
        Assert.Equal("nosniff", whole.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal(_data, await whole.Content.ReadAsByteArrayAsync());

        // A range that crosses a chunk boundary.
        var (status, body, range) = await GetRangeAsync($"bytes={ChunkSize - 10}-{ChunkSize + 9}");
        Assert.Equal(HttpStatusCode.PartialContent, status);
        Assert.Equal(_data.AsSpan(ChunkSize - 10, 20).ToArray(), body);
        Assert.Equal($"bytes {ChunkSize - 10}-{ChunkSize + 9}/{_data.Length}", range);

        (status, body, _) = await GetRangeAsync("bytes=-100");
        Assert.Equal(HttpStatusCode.PartialContent, status);
        Assert.Equal(_data[^100..], body);

        (status, body, _) = await GetRangeAsync($"bytes={_data.Length - 5}-");
        Assert.Equal(_data[^5..], body);

        (status, _, range) = await GetRangeAsync($"bytes={_data.Length}-{_data.Length + 10}");
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, status);
        Assert.Equal($"bytes */{_data.Length}", range);

        // Multi-part and malformed ranges are ignored (RFC 9110 14.2): the whole file.
        (status, body, _) = await GetRangeAsync("bytes=0-1,5-6");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(_data.Length, body.Length);
        (status, body, _) = await GetRangeAsync("bytes=abc");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(_data.Length, body.Length);
    }

    private async Task<(HttpStatusCode Status, byte[] Body, string? ContentRange)> GetRangeAsync(string range)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/content/{_id}");
        request.Headers.TryAddWithoutValidation("Range", range);
        using var response = await _http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsByteArrayAsync(), response.Content.Headers.ContentRange?.ToString());
    }

    [Theory]
    [InlineData("/content/0000000000000000000000000000000000000000000000000000000000000000/manifest", "unknown_content")]
    [InlineData("/content/not-an-id/manifest", "unknown_content")]
    [InlineData("/content/0000000000000000000000000000000000000000000000000000000000000000", "unknown_content")]
    [InlineData("/content/0000000000000000000000000000000000000000000000000000000000000000/chunks/0", "unknown_content")]
    [InlineData("/pull/anything", "pull_through_disabled")]
    [InlineData("/content/0000000000000000000000000000000000000000000000000000000000000000/chunks", "not_found")]
    [InlineData("/content/a/b/c/d", "not_found")]
    public async Task Unknown_ids_get_a_json_404(string path, string code)
    {
        using var response = await _http.GetAsync(path);
        await AssertErrorAsync(response, HttpStatusCode.NotFound, code);
    }

    [Theory]
    [InlineData("4")]
    [InlineData("-1")]
    [InlineData("99999999999999")]
    [InlineData("x")]
    public async Task Out_of_range_chunks_get_a_json_404(string index)
    {
        using var response = await _http.GetAsync($"/content/{_id}/chunks/{index}");
        await AssertErrorAsync(response, HttpStatusCode.NotFound, "unknown_chunk");
    }

    internal static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, body.RootElement.GetProperty("error").GetString());
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Publishing_needs_the_token_and_valid_metadata()
    {
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/content?name=a.bin") { Content = new ByteArrayContent([1]) })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "wrong-token-wrong-token");
            using var response = await _http.SendAsync(request);
            await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "unauthorized");
        }

        using (var response = await _http.PostAsync("/content?name=a.bin", new ByteArrayContent([1])))
        {
            await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "unauthorized");
        }

        using (var request = new HttpRequestMessage(HttpMethod.Post, "/content") { Content = new ByteArrayContent([1]) })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            using var response = await _http.SendAsync(request);
            await AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
        }

        // The same bytes under the same name are the same content: publishing is idempotent.
        Assert.Equal(_id, await PublishAsync(_data, "movie.mp4"));
    }

    [Fact]
    public async Task Publish_api_is_disabled_without_a_token()
    {
        var dir = Path.Combine(Path.GetTempPath(), "webrtc-cdn-origin-" + Guid.NewGuid().ToString("N"));
        await using var server = await TestServer.StartAsync(o => o.Content.StorePath = dir);
        using var http = server.CreateClient();
        using var response = await http.PostAsync("/content?name=a.bin", new ByteArrayContent([1]));
        await AssertErrorAsync(response, HttpStatusCode.NotFound, "publish_disabled");
        Assert.False(Directory.Exists(dir), "a server that serves no content never opens its store");
    }

    [Fact]
    public async Task Cors_echoes_only_configured_origins()
    {
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/content/{_id}/manifest"))
        {
            request.Headers.Add("Origin", "https://app.example.com");
            using var response = await _http.SendAsync(request);
            Assert.Equal("https://app.example.com", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
            Assert.Contains("Content-Range", response.Headers.GetValues("Access-Control-Expose-Headers").Single(), StringComparison.Ordinal);
        }

        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/content/{_id}/manifest"))
        {
            request.Headers.Add("Origin", "https://evil.example.com");
            using var response = await _http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        }

        using (var preflight = new HttpRequestMessage(HttpMethod.Options, $"/content/{_id}"))
        {
            preflight.Headers.Add("Origin", "https://app.example.com");
            preflight.Headers.Add("Access-Control-Request-Method", "GET");
            preflight.Headers.Add("Access-Control-Request-Headers", "range");
            using var response = await _http.SendAsync(preflight);
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            Assert.Equal("https://app.example.com", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
            Assert.Contains("Range", response.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.Ordinal);
        }

        using (var preflight = new HttpRequestMessage(HttpMethod.Options, $"/content/{_id}"))
        {
            preflight.Headers.Add("Origin", "https://evil.example.com");
            preflight.Headers.Add("Access-Control-Request-Method", "GET");
            using var response = await _http.SendAsync(preflight);
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
            Assert.False(response.Headers.Contains("Access-Control-Allow-Methods"));
        }
    }

    [Fact]
    public async Task Egress_counts_the_body_bytes_served()
    {
        var egress = _server.Services.GetRequiredService<OriginEgress>();
        var before = egress.BytesServed;
        var file = await _http.GetByteArrayAsync($"/content/{_id}");
        var chunk = await _http.GetByteArrayAsync($"/content/{_id}/chunks/1");
        var manifest = await _http.GetByteArrayAsync($"/content/{_id}/manifest");
        Assert.Equal(file.Length + chunk.Length + manifest.Length, egress.BytesServed - before);
    }

    [Fact]
    public async Task A_corrupted_chunk_file_is_never_served()
    {
        var hash = Sha256Digest.Compute(_data.AsSpan(ChunkSize, ChunkSize));
        var content = _server.Services.GetRequiredService<OriginContent>();
        var path = Path.Combine(_store, "chunks", hash.ToHex()[..2], hash.ToHex());
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[0] ^= 0xff;
        await File.WriteAllBytesAsync(path, bytes);

        using var response = await _http.GetAsync($"/content/{_id}/chunks/1");
        await AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable, "chunk_unavailable");
        Assert.Equal(1, content.Store.CorruptChunks);
        Assert.False(File.Exists(path));
        using var whole = await _http.GetAsync($"/content/{_id}");
        await AssertErrorAsync(whole, HttpStatusCode.ServiceUnavailable, "chunk_unavailable");
    }
}
