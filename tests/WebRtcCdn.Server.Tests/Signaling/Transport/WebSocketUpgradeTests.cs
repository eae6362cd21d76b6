using System.Buffers;
using System.Text;
using WebRtcCdn.Server.Signaling.Transport;

namespace WebRtcCdn.Server.Tests.Signaling.Transport;

public sealed class WebSocketUpgradeTests
{
    /// <summary>What Chromium sends for <c>new WebSocket("ws://localhost:8080/signaling?v=1")</c> from a page.</summary>
    private const string Chromium =
        "GET /signaling?v=1&resume=abc HTTP/1.1\r\n" +
        "Host: localhost:8080\r\n" +
        "Connection: Upgrade\r\n" +
        "Pragma: no-cache\r\n" +
        "Cache-Control: no-cache\r\n" +
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36\r\n" +
        "Upgrade: websocket\r\n" +
        "Origin: http://localhost:8080\r\n" +
        "Sec-WebSocket-Version: 13\r\n" +
        "Accept-Encoding: gzip, deflate, br, zstd\r\n" +
        "Accept-Language: en-US,en;q=0.9\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
        "\r\n";

    private static UpgradeParseStatus Parse(string text, out WebSocketUpgrade? request) =>
        WebSocketUpgrade.TryParse(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text)), "/signaling", out request);

    [Fact]
    public void A_browser_upgrade_is_recognised_with_its_query_origin_and_host()
    {
        Assert.Equal(UpgradeParseStatus.Upgrade, Parse(Chromium + "\x81\x85", out var request));
        Assert.Equal("/signaling", request!.Path);
        Assert.Equal("?v=1&resume=abc", request.Query);
        Assert.Equal("http://localhost:8080", request.Origin);
        Assert.Equal("localhost:8080", request.Host);
        Assert.Equal(Chromium.Length, request.HeadLength);
    }

    [Fact]
    public void The_response_is_101_with_the_rfc_6455_accept_value_and_no_extension()
    {
        Parse(Chromium, out var request);
        var output = new ArrayBufferWriter<byte>();
        request!.WriteResponse(output);
        var response = Encoding.ASCII.GetString(output.WrittenSpan);
        // RFC 6455 section 1.3's example key and accept value.
        Assert.Equal("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n", response);
    }

    [Fact]
    public void Node_and_dotnet_clients_without_origin_and_with_lowercase_headers_are_recognised()
    {
        var request = "GET /signaling HTTP/1.1\r\nhost: 127.0.0.1:5000\r\nconnection: keep-alive, Upgrade\r\nupgrade: WebSocket\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n";
        Assert.Equal(UpgradeParseStatus.Upgrade, Parse(request, out var parsed));
        Assert.Null(parsed!.Origin);
        Assert.Equal(string.Empty, parsed.Query);
    }

    [Theory]
    [InlineData("")]
    [InlineData("G")]
    [InlineData("GET /sig")]
    [InlineData("GET /signaling?v=1 HTTP/1.1\r\nHost: x\r\n")]
    public void A_prefix_of_an_upgrade_needs_more(string text) => Assert.Equal(UpgradeParseStatus.NeedMore, Parse(text, out _));

    [Theory]
    [InlineData("GET /announce HTTP/1.1\r\n")]
    [InlineData("GET / HTTP/1.1\r\n")]
    [InlineData("POST /signaling HTTP/1.1\r\n")]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")]
    [InlineData("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")]
    [InlineData("GET /signalingx HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET /signaling/ HTTP/1.1\r\nHost: x\r\n\r\n")]
    public void Other_requests_are_left_to_http_as_soon_as_the_first_bytes_differ(string text) =>
        Assert.Equal(UpgradeParseStatus.NotOurs, Parse(text, out _));

    public static TheoryData<string, string> NotHandshakes() => new()
    {
        { "plain GET", Chromium.Replace("Upgrade: websocket\r\n", string.Empty, StringComparison.Ordinal) },
        { "no Connection: Upgrade", Chromium.Replace("Connection: Upgrade\r\n", "Connection: keep-alive\r\n", StringComparison.Ordinal) },
        { "version 8", Chromium.Replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8", StringComparison.Ordinal) },
        { "no key", Chromium.Replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", string.Empty, StringComparison.Ordinal) },
        { "key not 16 bytes", Chromium.Replace("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZQ==", StringComparison.Ordinal) },
        { "no Host", Chromium.Replace("Host: localhost:8080\r\n", string.Empty, StringComparison.Ordinal) },
        { "two Hosts", Chromium.Replace("Host: localhost:8080\r\n", "Host: a\r\nHost: b\r\n", StringComparison.Ordinal) },
        { "two Origins", Chromium.Replace("Origin: http://localhost:8080\r\n", "Origin: http://a\r\nOrigin: http://b\r\n", StringComparison.Ordinal) },
        { "a body", Chromium.Replace("Pragma: no-cache\r\n", "Content-Length: 5\r\n", StringComparison.Ordinal) },
        { "HTTP/1.0", Chromium.Replace(" HTTP/1.1\r\n", " HTTP/1.0\r\n", StringComparison.Ordinal) },
        { "folded header", Chromium.Replace("Pragma: no-cache\r\n", "Pragma: no-cache\r\n  folded\r\n", StringComparison.Ordinal) },
        { "space before colon", Chromium.Replace("Pragma: no-cache", "Pragma : no-cache", StringComparison.Ordinal) },
        { "control byte in a value", Chromium.Replace("Pragma: no-cache", "Pragma: no\u0001cache", StringComparison.Ordinal) },
        { "percent-encoded path", Chromium.Replace("GET /signaling?", "GET /signa%6Cing?", StringComparison.Ordinal) },
        { "head over 8 KiB", Chromium.Replace("Pragma: no-cache\r\n", "Cookie: " + new string('c', 9000) + "\r\n", StringComparison.Ordinal) },
    };

    [Theory]
    [MemberData(nameof(NotHandshakes))]
    public void Anything_short_of_a_well_formed_handshake_is_left_to_http(string what, string text) =>
        Assert.True(Parse(text, out _) == UpgradeParseStatus.NotOurs, what);

    [Fact]
    public void The_path_matches_case_insensitively_like_aspnet_routing()
    {
        Assert.Equal(UpgradeParseStatus.Upgrade, Parse(Chromium.Replace("GET /signaling", "GET /Signaling", StringComparison.Ordinal), out var request));
        Assert.Equal("/Signaling", request!.Path);
    }
}
