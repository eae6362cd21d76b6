using System.Net.Sockets;
using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Core.Signaling;
using WebRtcCdn.Server.Signaling.Transport;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Signaling.Transport;

/// <summary>
/// The dedicated /signaling listener (signaling.listen, <see cref="RawSignalingListener"/>) on real sockets, with
/// ClientWebSocket: the same hub, admission and limits as /signaling on the main (Kestrel) listener.
/// </summary>
public sealed class RawSignalingListenerTests
{
    private const string Sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";

    [Fact]
    public async Task A_peer_on_the_raw_listener_and_a_peer_on_kestrel_meet_and_relay_both_ways()
    {
        await using var server = await StartAsync();
        await using var raw = await WsClient.ConnectAsync(RawUri(server));
        await using var kestrel = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        var idRaw = (string)(await raw.ExpectAsync("welcome"))["peer_id"]!;
        var idKestrel = (string)(await kestrel.ExpectAsync("welcome"))["peer_id"]!;

        await raw.SendAsync(new { type = "join", id = 1, swarm = "movie", chunks = 10, total = 10 });
        Assert.Empty((await raw.ExpectAsync("joined"))["peers"]!.AsArray());
        await kestrel.SendAsync(new { type = "join", id = 2, swarm = "movie", chunks = 0, total = 10 });
        Assert.Equal(idRaw, (string)Assert.Single((await kestrel.ExpectAsync("joined"))["peers"]!.AsArray())!["peer_id"]!);

        await kestrel.SendAsync(new { type = "offer", to = idRaw, cid = "c1", sdp = Sdp });
        var offer = await raw.ExpectAsync("offer");
        Assert.Equal((idKestrel, Sdp), ((string)offer["from"]!, (string)offer["sdp"]!));

        // A message larger than one receive buffer (4 KiB) crosses the raw listener in several reads.
        var bigSdp = Sdp + new string('a', 20_000);
        await raw.SendAsync(new { type = "answer", to = idKestrel, cid = "c1", sdp = bigSdp });
        var answer = await kestrel.ExpectAsync("answer");
        Assert.Equal((idRaw, bigSdp), ((string)answer["from"]!, (string)answer["sdp"]!));
    }

    [Fact]
    public async Task Refusals_get_the_same_statuses_as_on_the_main_listener()
    {
        await using var server = await StartAsync(o =>
        {
            o.Security.AllowedOrigins.Add("https://video.example.com");
            o.Signaling.Limits.ConnectionsPerIp = 2;
        });
        var uri = RawUri(server);
        Assert.Equal(403, await WsClient.RefusedStatusAsync(uri, "https://evil.example.net"));
        Assert.Equal(400, await WsClient.RefusedStatusAsync(new Uri(uri + "?v=2")));
        Assert.Equal(426, await WsClient.RefusedStatusAsync(new UriBuilder(uri) { Path = "/announce" }.Uri));
        using (var http = new HttpClient { BaseAddress = new UriBuilder(uri) { Scheme = "http" }.Uri })
        {
            Assert.Equal(426, (int)(await http.GetAsync("/signaling")).StatusCode);
        }

        await using var listed = await WsClient.ConnectAsync(uri, "https://video.example.com");
        await listed.ExpectAsync("welcome");
        // TLS is terminated in front of this listener: the page's own origin may be https.
        await using var sameOrigin = await WsClient.ConnectAsync(uri, $"https://{uri.Authority}");
        await sameOrigin.ExpectAsync("welcome");
        Assert.Equal(429, await WsClient.RefusedStatusAsync(uri));
        Assert.Equal(429, await WsClient.RefusedStatusAsync(server.WebSocketUri("/signaling")));
    }

    [Fact]
    public async Task The_node_cap_counts_both_listeners()
    {
        await using var server = await StartAsync(o => o.P2P.MaxPeers = 1);
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await a.ExpectAsync("welcome");
        Assert.Equal(503, await WsClient.RefusedStatusAsync(RawUri(server)));
    }

    [Fact]
    public async Task A_message_over_the_size_cap_closes_with_1009()
    {
        await using var server = await StartAsync(o => o.Signaling.Limits.MaxMessageSize = 4096);
        await using var a = await WsClient.ConnectAsync(RawUri(server));
        await a.ExpectAsync("welcome");
        await a.SendAsync(new { type = "offer", to = "x", sdp = new string('a', 5000) });
        Assert.Equal((WebSocketCloseStatus)SignalingCloseCodes.MessageTooBig, await a.ExpectClosedAsync());
    }

    [Fact]
    public async Task Frames_split_across_reads_and_a_ping_between_fragments_are_handled()
    {
        await using var server = await StartAsync();
        var uri = new UriBuilder(RawUri(server)) { Scheme = "http" }.Uri;
        await using var client = await RawWebSocketClient.ConnectAsync(uri);
        await client.SendAsync(RawWebSocketClient.Handshake(uri));
        Assert.StartsWith("HTTP/1.1 101 Switching Protocols\r\n", await client.ReadHeadAsync(), StringComparison.Ordinal);
        Assert.Contains("\"welcome\"", await client.ReadTextAsync(), StringComparison.Ordinal);
        byte[] bytes =
        [
            .. Frames.Client(0x1, """{"type":"pi"""u8, fin: false, mask: 0x01020304),
            .. Frames.Client(0x9, "still there?"u8, mask: 0xA1B2C3D4),
            .. Frames.Client(0x0, "ng\",\"id\":"u8, fin: false, mask: 0xFFFFFFFF),
            .. Frames.Client(0x0, "7}"u8, fin: true, mask: 0),
        ];

        // One byte at a time: every header and the control frame are split across reads.
        foreach (var b in bytes)
        {
            await client.SendAsync([b]);
        }

        var pong = await client.ReadFrameAsync();
        Assert.Equal(0xA, pong!.Value.Opcode);
        Assert.Contains("\"pong\"", await client.ReadTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_protocol_violation_closes_with_1002()
    {
        await using var server = await StartAsync();
        var uri = new UriBuilder(RawUri(server)) { Scheme = "http" }.Uri;
        await using var client = await RawWebSocketClient.ConnectAsync(uri);
        await client.SendAsync(RawWebSocketClient.Handshake(uri));
        await client.ReadHeadAsync();
        await client.ReadTextAsync();

        // An unmasked client frame (RFC 6455 5.1).
        await client.SendAsync([0x81, 0x02, (byte)'h', (byte)'i']);
        var close = await client.ReadFrameAsync();
        Assert.Equal(0x8, close!.Value.Opcode);
        Assert.Equal(1002, (close.Value.Payload[0] << 8) | close.Value.Payload[1]);
    }

    [Fact]
    public async Task A_silent_connection_is_closed_after_the_idle_timeout()
    {
        var time = new FakeTimeProvider();
        await using var server = await StartAsync(o => o.Signaling.Limits.IdleTimeout = TimeSpan.FromSeconds(60), b => b.Services.AddSingleton<TimeProvider>(time));
        await using var a = await WsClient.ConnectAsync(RawUri(server));
        await a.ExpectAsync("welcome");
        time.Advance(TimeSpan.FromSeconds(59));
        await a.SendAsync(new { type = "ping" });
        await a.ExpectAsync("pong");
        time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal((WebSocketCloseStatus)SignalingCloseCodes.IdleTimeout, await a.ExpectClosedAsync());
    }

    [Fact]
    public async Task A_client_on_the_raw_listener_that_does_not_read_is_disconnected()
    {
        await using var server = await StartAsync(o =>
        {
            o.Signaling.Limits.SendQueue = 4;
            o.Signaling.Limits.MessageRate = 100_000;
            o.Signaling.Limits.MessageBurst = 100_000;
        });
        await using var watcher = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await using var flooder = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await using var sleeper = await WsClient.ConnectAsync(RawUri(server));
        await watcher.ExpectAsync("welcome");
        await flooder.ExpectAsync("welcome");
        var idSleeper = (string)(await sleeper.ExpectAsync("welcome"))["peer_id"]!;
        foreach (var c in new[] { sleeper, watcher, flooder })
        {
            await c.SendAsync(new { type = "join", swarm = "s" });
            await c.ExpectAsync("joined");
        }

        // The sleeper reads the watcher's offer (its last read), so the watcher is its contact before the flood starts
        // (see SignalingEndToEndTests' slow-client test).
        await watcher.SendAsync(new { type = "offer", to = idSleeper, sdp = Sdp });
        await sleeper.ExpectAsync("offer");

        // The sleeper never reads again; the flooder sends it 60 KB offers until the server gives up on it.
        var big = new string('x', 60_000);
        var flood = Task.Run(async () =>
        {
            try
            {
                for (var i = 0; i < 2000; i++)
                {
                    await flooder.SendAsync(new { type = "offer", to = idSleeper, sdp = big });
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                // Once the sleeper is gone the flooder's offers are errors, and the server may close it too.
            }
        });
        var left = await watcher.ExpectAsync("peer-left");
        Assert.Equal(idSleeper, (string)left["peer_id"]!);
        await flood.WaitAsync(WsClient.Guard);
    }

    /// <summary>
    /// Relays are written into a buffer the server reuses for the next one, so a connection that queues a message
    /// (its socket is busy) must keep its own copy: every queued relay arrives intact and in order, on both listeners.
    /// </summary>
    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public async Task Relays_queued_behind_a_reader_that_falls_behind_arrive_intact_and_in_order(bool readerOnRaw, bool senderOnRaw)
    {
        await using var server = await StartAsync(o =>
        {
            o.Signaling.Limits.MessageRate = 100_000;
            o.Signaling.Limits.MessageBurst = 100_000;
            o.Signaling.Limits.SendQueue = 1000;
        });
        await using var reader = await WsClient.ConnectAsync(readerOnRaw ? RawUri(server) : server.WebSocketUri("/signaling"), socketReceiveBuffer: 4096);
        await using var sender = await WsClient.ConnectAsync(senderOnRaw ? RawUri(server) : server.WebSocketUri("/signaling"));
        var idReader = (string)(await reader.ExpectAsync("welcome"))["peer_id"]!;
        await sender.ExpectAsync("welcome");
        foreach (var c in new[] { reader, sender })
        {
            await c.SendAsync(new { type = "join", swarm = "s" });
            await c.ExpectAsync("joined");
        }

        // 600 x 8 KB (under the 16 KiB of the server's reused relay buffer) while the reader, with a 4 KiB socket
        // receive buffer, is not reading: the server's sends toward it go pending and the rest queue.
        const int Count = 600;
        var filler = new string('x', 8_000);
        for (var i = 0; i < Count; i++)
        {
            await sender.SendAsync(new { type = "offer", to = idReader, sdp = $"{i:D4}:{filler}" });
        }

        for (var i = 0; i < Count; i++)
        {
            var offer = await reader.ExpectAsync("offer");
            Assert.Equal($"{i:D4}:{filler}", (string)offer["sdp"]!);
        }
    }

    [Fact]
    public async Task A_connection_that_closes_before_its_request_head_releases_nothing_it_did_not_take()
    {
        await using var server = await StartAsync(o => o.Signaling.Limits.ConnectionsPerIp = 1);
        var uri = RawUri(server);
        using (var socket = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await socket.ConnectAsync(uri.Host, uri.Port);
            await socket.SendAsync("GET /signaling HTTP/1.1\r\nHost: x\r\n"u8.ToArray(), SocketFlags.None);
        }

        // The cap of one is still free for a real client.
        await using var a = await WsClient.ConnectAsync(uri);
        await a.ExpectAsync("welcome");
    }

    [Fact]
    public async Task A_listen_address_in_use_fails_the_start_with_the_key_path()
    {
        using var taken = new TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var e = await Assert.ThrowsAsync<ConfigurationException>(() => TestServer.StartAsync(o => o.Signaling.Listen = new ListenAddress("127.0.0.1", port)));
        Assert.Equal("webrtc_cdn.signaling.listen", e.Path);
    }

    private static Task<TestServer> StartAsync(Action<WebRtcCdnOptions>? configure = null, Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? builder = null) =>
        TestServer.StartAsync(
            o =>
            {
                o.Signaling.Listen = new ListenAddress("127.0.0.1", 0);
                configure?.Invoke(o);
            },
            builder);

    private static Uri RawUri(TestServer server)
    {
        var port = server.Services.GetRequiredService<RawSignalingListener>().LocalEndPoint!.Port;
        return new Uri($"ws://127.0.0.1:{port}/signaling");
    }
}
