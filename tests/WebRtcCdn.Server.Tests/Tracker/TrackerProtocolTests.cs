using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using WebRtcCdn.Server.Tests.Signaling;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Tracker;

/// <summary>The /announce protocol message by message, including every class of bad input.</summary>
public sealed class TrackerProtocolTests
{
    private static readonly object Offer = new { type = "offer", sdp = "v=0\r\n" };

    private static string Id(char c) => new(c, 20);

    /// <summary>20 binary bytes as the clients send them: a string of U+0000..U+00FF characters.</summary>
    private static string BinaryId(byte seed) => new(Enumerable.Range(0, 20).Select(i => (char)((seed * 31) + (i * 13) & 0xFF)).ToArray());

    [Fact]
    public async Task Announce_answers_with_interval_and_counts_forwards_each_offer_to_a_peer_and_relays_the_answer()
    {
        await using var server = await TestServer.StartAsync();
        var infoHash = BinaryId(1);
        string seeder = BinaryId(2), leecher = BinaryId(3), offerId = BinaryId(4);
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/announce"));
        await using var b = await WsClient.ConnectAsync(server.WebSocketUri("/announce"));

        await a.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = seeder, @event = "completed", left = 0, numwant = 0, offers = Array.Empty<object>() });
        var first = (await a.ReceiveAsync())!;
        Assert.Equal("announce", (string)first["action"]!);
        Assert.Equal(120, (int)first["interval"]!);
        Assert.Equal(infoHash, (string)first["info_hash"]!);
        Assert.Equal(1, (int)first["complete"]!);
        Assert.Equal(0, (int)first["incomplete"]!);

        await b.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = leecher, @event = "started", left = 100, numwant = 1, offers = new[] { new { offer = Offer, offer_id = offerId } } });
        var response = (await b.ReceiveAsync())!;
        Assert.Equal(1, (int)response["complete"]!);
        Assert.Equal(1, (int)response["incomplete"]!);

        var forwarded = (await a.ReceiveAsync())!;
        Assert.Equal("announce", (string)forwarded["action"]!);
        Assert.Equal(leecher, (string)forwarded["peer_id"]!);
        Assert.Equal(offerId, (string)forwarded["offer_id"]!);
        Assert.Equal(infoHash, (string)forwarded["info_hash"]!);
        Assert.Equal("v=0\r\n", (string)forwarded["offer"]!["sdp"]!);

        await a.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = seeder, to_peer_id = leecher, offer_id = offerId, answer = new { type = "answer", sdp = "v=0\r\n" } });
        var answer = (await b.ReceiveAsync())!;
        Assert.Equal(seeder, (string)answer["peer_id"]!);
        Assert.Equal(offerId, (string)answer["offer_id"]!);
        Assert.Equal("answer", (string)answer["answer"]!["type"]!);

        await b.SendAsync(new { action = "scrape", info_hash = new[] { infoHash, BinaryId(9) } });
        var scrape = (await b.ReceiveAsync())!;
        Assert.Equal("scrape", (string)scrape["action"]!);
        Assert.Equal(1, (int)scrape["files"]![infoHash]!["complete"]!);
        Assert.Equal(1, (int)scrape["files"]![infoHash]!["incomplete"]!);
        Assert.Equal(0, (int)scrape["files"]![BinaryId(9)]!["complete"]!);

        await b.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = leecher, @event = "stopped" });
        Assert.Equal(0, (int)(await b.ReceiveAsync())!["incomplete"]!);
    }

    [Theory]
    [InlineData("not json", "invalid JSON")]
    [InlineData("{\"action\":\"teleport\"}", "invalid action")]
    [InlineData("{\"action\":\"announce\",\"info_hash\":\"short\",\"peer_id\":\"aaaaaaaaaaaaaaaaaaaa\"}", "invalid info_hash")]
    [InlineData("{\"action\":\"announce\",\"info_hash\":\"aaaaaaaaaaaaaaaaaaaa\",\"peer_id\":7}", "invalid peer_id")]
    [InlineData("{\"action\":\"announce\",\"info_hash\":\"\\u0100aaaaaaaaaaaaaaaaaaa\",\"peer_id\":\"aaaaaaaaaaaaaaaaaaaa\"}", "invalid info_hash")]
    [InlineData("{\"action\":\"announce\",\"info_hash\":\"aaaaaaaaaaaaaaaaaaaa\",\"peer_id\":\"bbbbbbbbbbbbbbbbbbbb\",\"event\":\"exploded\"}", "invalid event")]
    [InlineData("{\"action\":\"announce\",\"info_hash\":\"aaaaaaaaaaaaaaaaaaaa\",\"peer_id\":\"bbbbbbbbbbbbbbbbbbbb\",\"answer\":{\"sdp\":\"x\"}}", "invalid answer")]
    [InlineData("{\"action\":\"announce\",\"info_hash\":\"aaaaaaaaaaaaaaaaaaaa\",\"peer_id\":\"bbbbbbbbbbbbbbbbbbbb\",\"answer\":{\"sdp\":\"x\"},\"to_peer_id\":\"cccccccccccccccccccc\",\"offer_id\":\"dddddddddddddddddddd\"}", "not in your swarm")]
    [InlineData("{\"action\":\"scrape\"}", "scrape needs info_hash")]
    public async Task Bad_messages_get_a_failure_reason_and_the_socket_stays_usable(string message, string reason)
    {
        await using var server = await TestServer.StartAsync();
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/announce"));
        await a.SendTextAsync(message);
        var failure = (await a.ReceiveAsync())!;
        Assert.Contains(reason, (string)failure["failure reason"]!, StringComparison.Ordinal);
        await a.SendAsync(new { action = "scrape", info_hash = Id('z') });
        Assert.Equal("scrape", (string)(await a.ReceiveAsync())!["action"]!);
    }

    [Fact]
    public async Task Too_many_offers_are_refused()
    {
        await using var server = await TestServer.StartAsync();
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/announce"));
        var offers = Enumerable.Range(0, 21).Select(i => new { offer = Offer, offer_id = BinaryId((byte)i) }).ToArray();
        await a.SendAsync(new { action = "announce", info_hash = Id('a'), peer_id = Id('b'), offers });
        Assert.Contains("at most 20 offers", (string)(await a.ReceiveAsync())!["failure reason"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_peer_id_announced_from_one_address_cannot_be_taken_over_from_another()
    {
        await using var server = await TestServer.StartAsync();
        await using var owner = await WsClient.ConnectAsync(server.WebSocketUri("/announce"));
        await owner.SendAsync(new { action = "announce", info_hash = Id('a'), peer_id = Id('p'), @event = "started" });
        Assert.Equal(1, (int)(await owner.ReceiveAsync())!["incomplete"]!);

        using var invoker = FromAddress(IPAddress.Parse("127.0.0.2"));
        using var thief = new ClientWebSocket();
        using var cts = new CancellationTokenSource(WsClient.Guard);
        await thief.ConnectAsync(server.WebSocketUri("/announce"), invoker, cts.Token);
        var payload = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new { action = "announce", info_hash = Id('a'), peer_id = Id('p'), @event = "started" });
        await thief.SendAsync(payload, WebSocketMessageType.Text, true, cts.Token);
        var buffer = new byte[4096];
        var r = await thief.ReceiveAsync(buffer, cts.Token);
        Assert.Contains("peer_id is in use", System.Text.Encoding.UTF8.GetString(buffer, 0, r.Count), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dropped_socket_leaves_its_swarms()
    {
        await using var server = await TestServer.StartAsync();
        await using var watcher = await WsClient.ConnectAsync(server.WebSocketUri("/announce"));
        var a = await WsClient.ConnectAsync(server.WebSocketUri("/announce"));
        await a.SendAsync(new { action = "announce", info_hash = Id('a'), peer_id = Id('p'), @event = "started" });
        Assert.Equal(1, (int)(await a.ReceiveAsync())!["incomplete"]!);
        await a.DisposeAsync();
        // The server leaves the swarms before it completes the close handshake, so the count no longer holds a.
        await watcher.SendAsync(new { action = "announce", info_hash = Id('a'), peer_id = Id('w'), @event = "started" });
        Assert.Equal(1, (int)(await watcher.ReceiveAsync())!["incomplete"]!);
    }

    /// <summary>An HTTP invoker whose connections come from <paramref name="source"/> (127.0.0.x), for per-address rules.</summary>
    internal static HttpMessageInvoker FromAddress(IPAddress source) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, token) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, token);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    });
}
