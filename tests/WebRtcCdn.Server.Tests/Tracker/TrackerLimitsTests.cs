using System.Text.Json.Nodes;
using WebRtcCdn.Server.Tests.Signaling;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Tracker;

/// <summary>/announce's limits, one bad-input class each: frame kind, nesting, offers, scrape size, pairs per socket, swarm size, numwant, slow readers.</summary>
public sealed class TrackerLimitsTests
{
    private static readonly object Sdp = new { type = "offer", sdp = "v=0\r\n" };

    private static string Id(char c) => new(c, 20);

    /// <summary>A distinct 20-character binary id per number (two bytes of the number, the rest padding).</summary>
    private static string Numbered(int n) => new string('n', 18) + (char)(n >> 8 & 0xFF) + (char)(n & 0xFF);

    private static async Task<string> FailureAsync(WsClient client)
    {
        var m = (await client.ReceiveAsync())!;
        return (string?)m["failure reason"] ?? throw new Xunit.Sdk.XunitException($"expected a failure, got {m.ToJsonString()}");
    }

    public static TheoryData<string, string> BadMessages()
    {
        var tooManyHashes = new JsonArray([.. Enumerable.Range(0, 65).Select(i => JsonValue.Create(Numbered(i)))]);
        return new TheoryData<string, string>
        {
            { "[1,2,3]", "a message is a JSON object" },
            { "\"announce\"", "a message is a JSON object" },
            // Nesting beyond the parser's depth of 8 is refused before anything reads it.
            { "{\"action\":\"scrape\",\"x\":[[[[[[[[[[1]]]]]]]]]]}", "invalid JSON" },
            { "{\"action\":\"announce\",\"info_hash\":\"aaaaaaaaaaaaaaaaaaaa\",\"peer_id\":\"bbbbbbbbbbbbbbbbbbbb\",\"offers\":[{\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0\"},\"offer_id\":\"short\"}]}", "invalid offer" },
            { "{\"action\":\"announce\",\"info_hash\":\"aaaaaaaaaaaaaaaaaaaa\",\"peer_id\":\"bbbbbbbbbbbbbbbbbbbb\",\"offers\":[{\"offer\":\"v=0\",\"offer_id\":\"cccccccccccccccccccc\"}]}", "invalid offer" },
            { "{\"action\":\"announce\",\"info_hash\":\"aaaaaaaaaaaaaaaaaaaa\",\"peer_id\":\"bbbbbbbbbbbbbbbbbbbb\",\"offers\":[7]}", "invalid offer" },
            { new JsonObject { ["action"] = "scrape", ["info_hash"] = tooManyHashes }.ToJsonString(), "at most 64 info_hashes" },
            { "{\"action\":\"scrape\",\"info_hash\":[\"aaaaaaaaaaaaaaaaaaaa\",\"short\"]}", "invalid info_hash" },
            { "{\"action\":\"announce\",\"info_hash\":\"aaaaaaaaaaaaaaaaaaaa\",\"peer_id\":\"bbbbbbbbbbbbbbbbbbbb\",\"answer\":{\"type\":\"answer\",\"sdp\":\"v=0\"},\"to_peer_id\":\"cccccccccccccccccccc\",\"offer_id\":7}", "invalid answer" },
        };
    }

    [Theory]
    [MemberData(nameof(BadMessages))]
    public async Task Bad_messages_get_a_failure_reason_and_change_nothing(string message, string reason)
    {
        await using var server = await TestServer.StartAsync();
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/announce"));
        await a.SendTextAsync(message);
        Assert.Contains(reason, await FailureAsync(a), StringComparison.Ordinal);

        // Nothing was announced: the swarm the message named is still empty.
        await a.SendAsync(new { action = "scrape", info_hash = Id('a') });
        var files = (await a.ReceiveAsync())!["files"]![Id('a')]!;
        Assert.Equal(0, (int)files["incomplete"]! + (int)files["complete"]!);
    }

    [Fact]
    public async Task Binary_frames_are_refused_with_a_reason()
    {
        await using var server = await TestServer.StartAsync();
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/announce"));
        await a.SendBinaryAsync([1, 2, 3]);
        Assert.Contains("JSON text frames", await FailureAsync(a), StringComparison.Ordinal);
    }

    [Fact]
    public async Task One_socket_may_hold_at_most_256_announced_pairs()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Signaling.Limits.MessageRate = 100_000;
            o.Signaling.Limits.MessageBurst = 100_000;
        });
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/announce"));
        for (var i = 0; i < 256; i++)
        {
            await a.SendAsync(new { action = "announce", info_hash = Numbered(i), peer_id = Id('p'), @event = "started" });
            Assert.Equal(1, (int)(await a.ReceiveAsync())!["incomplete"]!);
        }

        await a.SendAsync(new { action = "announce", info_hash = Numbered(256), peer_id = Id('p'), @event = "started" });
        Assert.Contains("at most 256", await FailureAsync(a), StringComparison.Ordinal);

        // Stopping one frees a place.
        await a.SendAsync(new { action = "announce", info_hash = Numbered(0), peer_id = Id('p'), @event = "stopped" });
        await a.ReceiveAsync();
        await a.SendAsync(new { action = "announce", info_hash = Numbered(256), peer_id = Id('p'), @event = "started" });
        Assert.Equal(1, (int)(await a.ReceiveAsync())!["incomplete"]!);
    }

    [Fact]
    public async Task A_full_swarm_refuses_newcomers_but_keeps_its_members()
    {
        await using var server = await TestServer.StartAsync(o => o.Signaling.Limits.PeersPerSwarm = 2);
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/announce"));
        await a.SendAsync(new { action = "announce", info_hash = Id('s'), peer_id = Id('1'), @event = "started" });
        await a.ReceiveAsync();
        await a.SendAsync(new { action = "announce", info_hash = Id('s'), peer_id = Id('2'), @event = "started" });
        Assert.Equal(2, (int)(await a.ReceiveAsync())!["incomplete"]!);
        await a.SendAsync(new { action = "announce", info_hash = Id('s'), peer_id = Id('3'), @event = "started" });
        Assert.Contains("swarm full", await FailureAsync(a), StringComparison.Ordinal);

        // A member's re-announce is not a newcomer.
        await a.SendAsync(new { action = "announce", info_hash = Id('s'), peer_id = Id('1'), @event = "update" });
        Assert.Equal(2, (int)(await a.ReceiveAsync())!["incomplete"]!);
    }

    [Theory]
    [InlineData("1000000")]
    [InlineData("-5")]
    [InlineData("\"all\"")]
    public async Task Numwant_never_raises_the_offers_forwarded_above_the_offers_sent(string numwant)
    {
        await using var server = await TestServer.StartAsync();
        var others = new List<WsClient>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var c = await WsClient.ConnectAsync(server.WebSocketUri("/announce"));
                others.Add(c);
                await c.SendAsync(new { action = "announce", info_hash = Id('s'), peer_id = Numbered(i), @event = "started" });
                await c.ReceiveAsync();
            }

            await using var sender = await WsClient.ConnectAsync(server.WebSocketUri("/announce"));
            var offer = new JsonObject { ["offer"] = JsonNode.Parse("{\"type\":\"offer\",\"sdp\":\"v=0\"}"), ["offer_id"] = Id('o') };
            await sender.SendTextAsync($"{{\"action\":\"announce\",\"info_hash\":\"{Id('s')}\",\"peer_id\":\"{Id('x')}\",\"event\":\"started\",\"numwant\":{numwant},\"offers\":[{offer.ToJsonString()}]}}");
            Assert.Equal(5, (int)(await sender.ReceiveAsync())!["incomplete"]!);

            // A session's messages are handled in order: once this scrape is answered, the announce's offers are queued.
            await sender.SendAsync(new { action = "scrape", info_hash = Id('s') });
            await sender.ReceiveAsync();
            var offers = 0;
            foreach (var c in others)
            {
                await c.SendAsync(new { action = "scrape", info_hash = Id('s') });
                var first = (await c.ReceiveAsync())!;
                if (first["offer"] is not null)
                {
                    offers++;
                    Assert.Equal("scrape", (string?)(await c.ReceiveAsync())!["action"]);
                }
            }

            Assert.Equal(1, offers);
        }
        finally
        {
            foreach (var c in others)
            {
                await c.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_client_that_does_not_read_is_disconnected_and_leaves_its_swarm()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Signaling.Limits.SendQueue = 4;
            o.Signaling.Limits.MessageRate = 100_000;
            o.Signaling.Limits.MessageBurst = 100_000;
        });
        await using var sleeper = await WsClient.ConnectAsync(server.WebSocketUri("/announce"));
        await using var flooder = await WsClient.ConnectAsync(server.WebSocketUri("/announce"));
        await sleeper.SendAsync(new { action = "announce", info_hash = Id('s'), peer_id = Id('z'), @event = "started" });
        Assert.Equal(1, (int)(await sleeper.ReceiveAsync())!["incomplete"]!);

        // The sleeper never reads again; each of the flooder's announces forwards a 60 KB offer to it (the only
        // other peer) until its queue is full and the server drops it. The flooder reads its own replies.
        var big = new { type = "offer", sdp = new string('x', 60_000) };
        var incomplete = 2;
        for (var i = 0; i < 2000 && incomplete == 2; i++)
        {
            await flooder.SendAsync(new { action = "announce", info_hash = Id('s'), peer_id = Id('f'), @event = "update", offers = new[] { new { offer = big, offer_id = Id('o') } } });
            incomplete = (int)(await flooder.ReceiveAsync())!["incomplete"]!;
        }

        Assert.Equal(1, incomplete);
        // The swarm no longer holds the sleeper for anyone else either.
        await flooder.SendAsync(new { action = "scrape", info_hash = Id('s') });
        Assert.Equal(1, (int)(await flooder.ReceiveAsync())!["files"]![Id('s')]!["incomplete"]!);
    }
}
