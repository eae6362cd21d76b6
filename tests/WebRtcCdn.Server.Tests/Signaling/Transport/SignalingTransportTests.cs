using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using WebRtcCdn.Server.Signaling;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Signaling.Transport;

/// <summary>
/// The lean /signaling transport (SignalingTransportMiddleware) on a real server and real sockets: what it answers
/// itself, what it leaves to the HTTP pipeline, and the RFC 6455 rules on the wire.
/// </summary>
public sealed class SignalingTransportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("webrtc-cdn-transport").FullName;
    private byte[]? _certificate;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_browser_upgrade_is_answered_by_the_lean_transport_on_plain_and_tls_connections(bool tls)
    {
        await using var server = await StartAsync(tls);
        await using var client = await RawWebSocketClient.ConnectAsync(server.BaseUri, _certificate);
        var origin = $"{server.BaseUri.Scheme}://{server.BaseUri.Host}:{server.BaseUri.Port}";
        await client.SendAsync(RawWebSocketClient.Handshake(server.BaseUri, origin: origin));
        var head = await client.ReadHeadAsync();
        Assert.StartsWith("HTTP/1.1 101 Switching Protocols\r\n", head, StringComparison.Ordinal);
        Assert.Contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", head, StringComparison.Ordinal);
        // Kestrel's HTTP responses always carry Date (and extensions are never accepted): this 101 is the lean path's.
        Assert.DoesNotContain("Date:", head, StringComparison.Ordinal);
        Assert.DoesNotContain("Sec-WebSocket-Extensions", head, StringComparison.Ordinal);
        var welcome = JsonNode.Parse(await client.ReadTextAsync())!;
        Assert.Equal("welcome", (string)welcome["type"]!);
    }

    [Fact]
    public async Task An_upgrade_after_another_request_on_the_same_connection_is_served_by_the_http_pipeline()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawWebSocketClient.ConnectAsync(server.BaseUri);
        await client.SendAsync($"GET /healthz HTTP/1.1\r\nHost: {server.BaseUri.Authority}\r\n\r\n");
        var health = await client.ReadHeadAsync();
        Assert.StartsWith("HTTP/1.1 200", health, StringComparison.Ordinal);
        var length = int.Parse(health.Split("\r\n").Single(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)).Split(':')[1].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await client.ReadBodyAsync(length);

        // The same connection, now an upgrade: Kestrel's WebSocket serves it, with the same protocol.
        await client.SendAsync(RawWebSocketClient.Handshake(server.BaseUri));
        var head = await client.ReadHeadAsync();
        Assert.StartsWith("HTTP/1.1 101", head, StringComparison.Ordinal);
        Assert.Contains("Date:", head, StringComparison.Ordinal);
        Assert.Equal("welcome", (string)JsonNode.Parse(await client.ReadTextAsync())!["type"]!);
    }

    [Fact]
    public async Task Fragments_with_a_ping_between_them_get_the_pong_then_the_reply()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await UpgradedAsync(server);
        byte[] bytes =
        [
            .. Frames.Client(0x1, """{"type":"pi"""u8, fin: false, mask: 0x01020304),
            .. Frames.Client(0x9, "still there?"u8, mask: 0xA1B2C3D4),
            .. Frames.Client(0x0, "ng\",\"id\":"u8, fin: false, mask: 0xFFFFFFFF),
            .. Frames.Client(0x0, "7}"u8, fin: true, mask: 0),
        ];
        await client.SendAsync(bytes);
        var pong = await client.ReadFrameAsync();
        Assert.Equal(0xA, pong!.Value.Opcode);
        Assert.Equal("still there?", Encoding.UTF8.GetString(pong.Value.Payload));
        var reply = JsonNode.Parse(await client.ReadTextAsync())!;
        Assert.Equal(("pong", 7), ((string)reply["type"]!, (int)reply["id"]!));
    }

    public static TheoryData<string, byte[], int> Violations() => new()
    {
        { "unmasked frame", Frames.Client(0x1, """{"type":"ping"}"""u8, masked: false), 1002 },
        { "reserved opcode", Frames.Client(0x5, "x"u8), 1002 },
        { "RSV1 (compression was not negotiated)", Frames.Client(0x1, "x"u8, rsv: 4), 1002 },
        { "invalid UTF-8", Frames.Client(0x1, [0x22, 0xC0, 0xAF, 0x22]), 1007 },
        { "oversized frame header", Frames.Client(0x1, [], declaredLength: 1 << 20)[..14], 1009 },
    };

    [Theory]
    [MemberData(nameof(Violations))]
    public async Task Protocol_violations_get_a_close_frame_with_their_status_then_the_connection_is_dropped(string what, byte[] frame, int status)
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await UpgradedAsync(server);
        await client.SendAsync(frame);
        var close = await client.ReadFrameAsync();
        Assert.True(close is { Opcode: 0x8 }, what);
        Assert.Equal(status, BinaryPrimitives.ReadUInt16BigEndian(close!.Value.Payload));
        Assert.Null(await client.ReadFrameAsync());
    }

    [Fact]
    public async Task A_client_close_is_answered_with_a_close_and_the_tcp_connection_ends()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await UpgradedAsync(server);
        await client.SendAsync(Frames.CloseFrame(1000, "done"));
        var close = await client.ReadFrameAsync();
        Assert.Equal(0x8, close!.Value.Opcode);
        Assert.Equal(1000, BinaryPrimitives.ReadUInt16BigEndian(close.Value.Payload));
        Assert.Null(await client.ReadFrameAsync());
    }

    [Fact]
    public async Task Dotnet_client_websocket_speaks_to_the_lean_transport_in_large_and_fragmented_messages()
    {
        await using var server = await TestServer.StartAsync();
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await using var b = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await a.ExpectAsync("welcome");
        var idB = (string)(await b.ExpectAsync("welcome"))["peer_id"]!;
        await a.SendAsync(new { type = "join", swarm = "s" });
        await a.ExpectAsync("joined");
        await b.SendAsync(new { type = "join", swarm = "s" });
        await b.ExpectAsync("joined");

        // 40 KB of SDP: a 16-bit length frame each way, larger than one socket read.
        var sdp = "v=0\r\n" + new string('a', 40_000);
        await a.SendAsync(new { type = "offer", to = idB, sdp });
        Assert.Equal(sdp, (string)(await b.ExpectAsync("offer"))["sdp"]!);
    }

    [Fact]
    public async Task A_refused_origin_is_refused_by_the_http_endpoint_with_its_status()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await RawWebSocketClient.ConnectAsync(server.BaseUri);
        await client.SendAsync(RawWebSocketClient.Handshake(server.BaseUri, origin: "https://evil.example"));
        Assert.StartsWith("HTTP/1.1 403", await client.ReadHeadAsync(), StringComparison.Ordinal);
    }

    private static async Task<RawWebSocketClient> UpgradedAsync(TestServer server)
    {
        var client = await RawWebSocketClient.ConnectAsync(server.BaseUri);
        await client.SendAsync(RawWebSocketClient.Handshake(server.BaseUri));
        Assert.StartsWith("HTTP/1.1 101", await client.ReadHeadAsync(), StringComparison.Ordinal);
        Assert.Contains("welcome", await client.ReadTextAsync(), StringComparison.Ordinal);
        return client;
    }

    private async Task<TestServer> StartAsync(bool tls)
    {
        if (!tls)
        {
            return await TestServer.StartAsync();
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certPath = Path.Combine(_dir, "cert.pem");
        var keyPath = Path.Combine(_dir, "key.pem");
        _certificate = certificate.RawData;
        await File.WriteAllTextAsync(certPath, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());
        return await TestServer.StartAsync(o =>
        {
            o.Signaling.Ssl.Enabled = true;
            o.Signaling.Ssl.Cert = certPath;
            o.Signaling.Ssl.Key = keyPath;
        });
    }
}
