using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using WebRtcCdn.Core.Signaling;

namespace WebRtcCdn.Server.Tests.Edge;

/// <summary>POST /rtc/offer refuses bad input with a clear 4xx and a JSON error code.</summary>
public sealed class EdgeOfferErrorTests : IAsyncLifetime
{
    private const string Secret = "edge-token-secret-0123456789abcdef";
    private EdgeFixture _edge = null!;

    public async Task InitializeAsync() => _edge = await EdgeFixture.StartAsync(size: 70_000, tokenSecret: Secret);

    public async Task DisposeAsync() => await _edge.DisposeAsync();

    private string ValidToken => JoinToken.Create(Secret, _edge.Id.ToString(), DateTimeOffset.UtcNow.AddHours(1));

    private async Task<(HttpStatusCode Status, string Code, string Message)> PostAsync(string query, HttpContent body, string? origin = null)
    {
        using var http = _edge.Server.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/rtc/offer" + query) { Content = body };
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(text);
        return (response.StatusCode, json.RootElement.GetProperty("error").GetString()!, json.RootElement.GetProperty("message").GetString()!);
    }

    private static StringContent Sdp(string text) => new(text, Encoding.UTF8, new MediaTypeHeaderValue("application/sdp"));

    [Fact]
    public async Task Bad_sdp_is_400_naming_the_line_and_reason()
    {
        var (status, code, message) = await PostAsync($"?content={_edge.Id}&token={ValidToken}", Sdp("v=0\r\nthis is not sdp\r\n"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_sdp", code);
        Assert.Contains("line", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-token")]
    [InlineData("wrong-scope")]
    public async Task Missing_or_bad_tokens_are_401(string token)
    {
        if (token == "wrong-scope")
        {
            token = JoinToken.Create(Secret, "other-swarm", DateTimeOffset.UtcNow.AddHours(1));
        }

        var (status, code, _) = await PostAsync($"?content={_edge.Id}&token={token}", Sdp("v=0\r\n"));
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("unauthorized", code);
    }

    [Fact]
    public async Task Oversized_offers_are_413_with_or_without_a_length()
    {
        var big = new string('a', 20_000);
        var (status, code, _) = await PostAsync($"?content={_edge.Id}&token={ValidToken}", Sdp(big));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("offer_too_large", code);

        // Chunked (no Content-Length): the limit holds while reading.
        var stream = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big)));
        stream.Headers.ContentType = new MediaTypeHeaderValue("application/sdp");
        stream.Headers.ContentLength = null;
        using var http = _edge.Server.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/rtc/offer?content={_edge.Id}&token={ValidToken}") { Content = stream };
        request.Headers.TransferEncodingChunked = true;
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Wrong_type_unknown_content_bad_id_and_foreign_origin_are_refused()
    {
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await PostAsync($"?content={_edge.Id}&token={ValidToken}", new StringContent("v=0"))).Status);
        var unknown = new string('0', 64);
        var token = JoinToken.Create(Secret, unknown, DateTimeOffset.UtcNow.AddHours(1));
        var (status, code, _) = await PostAsync($"?content={unknown}&token={token}", Sdp("v=0\r\n"));
        Assert.Equal((HttpStatusCode.NotFound, "unknown_content"), (status, code));
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync("?content=xyz", Sdp("v=0\r\n"))).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await PostAsync($"?content={_edge.Id}&token={ValidToken}", Sdp("v=0\r\n"), origin: "https://evil.example")).Status);
    }
}
