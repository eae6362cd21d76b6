using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WebRtcCdn.Server.Cluster;
using WebRtcCdn.Server.Tests.Signaling;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Cluster;

/// <summary>
/// /announce on two server nodes sharing a real redis-server: offers and answers cross nodes, counts and scrape
/// cover every node, a peer_id stays with its socket across nodes, a dead node's peers stop counting after the TTL.
/// </summary>
public sealed class TrackerClusterTests
{
    private static readonly object Sdp = new { type = "offer", sdp = "v=0\r\n" };

    /// <summary>20 binary bytes as the clients send them: a string of U+0000..U+00FF characters.</summary>
    private static string BinaryId(byte seed) => new(Enumerable.Range(0, 20).Select(i => (char)((seed * 31) + (i * 13) & 0xFF)).ToArray());

    private static Task<TestServer> NodeAsync(RedisServer redis, TimeSpan ttl, TimeProvider? time = null) => TestServer.StartAsync(
        o =>
        {
            o.Signaling.Redis = redis.ConnectionString;
            o.Signaling.Limits.ClusterTtl = ttl;
        },
        b =>
        {
            if (time is not null)
            {
                b.Services.AddSingleton(time);
            }
        });

    private static string Hex(string id) => Convert.ToHexStringLower(System.Text.Encoding.Latin1.GetBytes(id));

    private static string AllKey(string infoHash) => $"wrc:t:{{{Hex(infoHash)}}}:all";

    private static async Task<JsonObject> ScrapeAsync(WsClient client, string infoHash)
    {
        await client.SendAsync(new { action = "scrape", info_hash = new[] { infoHash } });
        var scrape = (await client.ReceiveAsync())!;
        Assert.Equal("scrape", (string?)scrape["action"]);
        return scrape["files"]![infoHash]!.AsObject();
    }

    [Fact]
    public async Task Offers_and_answers_cross_nodes_and_counts_and_scrape_cover_every_node()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var node1 = await NodeAsync(redis, TimeSpan.FromSeconds(30));
        await using var node2 = await NodeAsync(redis, TimeSpan.FromSeconds(30));
        var infoHash = BinaryId(1);
        string seeder = BinaryId(2), leecher = BinaryId(3), offerId = BinaryId(4);
        var a = await WsClient.ConnectAsync(node1.WebSocketUri("/announce"));
        await using var b = await WsClient.ConnectAsync(node2.WebSocketUri("/announce"));

        await a.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = seeder, @event = "completed", left = 0, numwant = 0, offers = Array.Empty<object>() });
        var first = (await a.ReceiveAsync())!;
        Assert.Equal(1, (int)first["complete"]!);
        Assert.Equal(0, (int)first["incomplete"]!);

        // b on node2 sends one offer: the only other peer of the swarm is a, on node1.
        await b.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = leecher, @event = "started", left = 100, numwant = 50, offers = new[] { new { offer = Sdp, offer_id = offerId } } });
        var response = (await b.ReceiveAsync())!;
        Assert.Equal(1, (int)response["complete"]!);
        Assert.Equal(1, (int)response["incomplete"]!);
        var offer = (await a.ReceiveAsync())!;
        Assert.Equal(leecher, (string?)offer["peer_id"]);
        Assert.Equal(offerId, (string?)offer["offer_id"]);
        Assert.Equal(infoHash, (string?)offer["info_hash"]);
        Assert.Equal("v=0\r\n", (string?)offer["offer"]!["sdp"]);

        // a answers by to_peer_id; node1 routes it to node2.
        await a.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = seeder, to_peer_id = leecher, offer_id = offerId, answer = new { type = "answer", sdp = "v=0\r\n" } });
        var answer = (await b.ReceiveAsync())!;
        Assert.Equal(seeder, (string?)answer["peer_id"]);
        Assert.Equal(offerId, (string?)answer["offer_id"]);
        Assert.Equal("answer", (string?)answer["answer"]!["type"]);

        var files = await ScrapeAsync(a, infoHash);
        Assert.Equal(1, (int)files["complete"]!);
        Assert.Equal(1, (int)files["incomplete"]!);

        // An answer across nodes from a peer outside the swarm is refused like a local one.
        await using var c = await WsClient.ConnectAsync(node2.WebSocketUri("/announce"));
        await c.SendAsync(new { action = "announce", info_hash = BinaryId(9), peer_id = BinaryId(10), @event = "started" });
        await c.ReceiveAsync();
        await c.SendAsync(new { action = "announce", info_hash = BinaryId(9), peer_id = BinaryId(10), to_peer_id = seeder, offer_id = offerId, answer = new { type = "answer", sdp = "v=0\r\n" } });
        Assert.Contains("not in your swarm", (string)(await c.ReceiveAsync())!["failure reason"]!, StringComparison.Ordinal);
        await c.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = BinaryId(10), to_peer_id = seeder, offer_id = offerId, answer = new { type = "answer", sdp = "v=0\r\n" } });
        Assert.Contains("not in your swarm", (string)(await c.ReceiveAsync())!["failure reason"]!, StringComparison.Ordinal);

        // a's peer_id is live on node1: another connection cannot take it on node2.
        await c.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = seeder, @event = "started" });
        Assert.Contains("peer_id is in use", (string)(await c.ReceiveAsync())!["failure reason"]!, StringComparison.Ordinal);

        // b stops: node1 sees it gone. a's socket closes: node2 sees the swarm empty.
        await b.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = leecher, @event = "stopped" });
        var stopped = (await b.ReceiveAsync())!;
        Assert.Equal(1, (int)stopped["complete"]!);
        Assert.Equal(0, (int)stopped["incomplete"]!);
        Assert.Equal(0, (int)(await ScrapeAsync(a, infoHash))["incomplete"]!);
        await a.DisposeAsync();
        var after = await ScrapeAsync(b, infoHash);
        Assert.Equal(0, (int)after["complete"]!);
        Assert.Equal(0, (int)after["incomplete"]!);

        // Once a left, its peer_id is free for anyone.
        await c.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = seeder, @event = "started" });
        Assert.Equal(1, (int)(await c.ReceiveAsync())!["incomplete"]!);
    }

    [Fact]
    public async Task Offers_reach_peers_on_both_nodes()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var node1 = await NodeAsync(redis, TimeSpan.FromSeconds(30));
        await using var node2 = await NodeAsync(redis, TimeSpan.FromSeconds(30));
        var infoHash = BinaryId(20);
        await using var local = await WsClient.ConnectAsync(node1.WebSocketUri("/announce"));
        await using var remote = await WsClient.ConnectAsync(node2.WebSocketUri("/announce"));
        await using var sender = await WsClient.ConnectAsync(node1.WebSocketUri("/announce"));
        await local.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = BinaryId(21), @event = "started" });
        await local.ReceiveAsync();
        await remote.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = BinaryId(22), @event = "started" });
        await remote.ReceiveAsync();

        // Three offers, two other peers: one offer each (the sender is never offered to itself).
        var offers = Enumerable.Range(0, 3).Select(i => new { offer = Sdp, offer_id = BinaryId((byte)(30 + i)) }).ToArray();
        await sender.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = BinaryId(23), @event = "started", offers });
        Assert.Equal(3, (int)(await sender.ReceiveAsync())!["incomplete"]!);
        Assert.Equal(BinaryId(23), (string?)(await local.ReceiveAsync())!["peer_id"]);
        Assert.Equal(BinaryId(23), (string?)(await remote.ReceiveAsync())!["peer_id"]);
    }

    [Fact]
    public async Task When_a_node_dies_its_tracker_peers_stop_counting_after_the_ttl()
    {
        // One virtual clock for both nodes: the TTL passes when the test says so, not after a sleep.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var ttl = TimeSpan.FromSeconds(30);
        await using var redis = await RedisServer.StartAsync();
        var node1 = await NodeAsync(redis, ttl, time);
        await using var node2 = await NodeAsync(redis, ttl, time);
        var infoHash = BinaryId(40);
        await using var a = await WsClient.ConnectAsync(node1.WebSocketUri("/announce"));
        await using var b = await WsClient.ConnectAsync(node2.WebSocketUri("/announce"));
        await a.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = BinaryId(41), @event = "started", left = 10 });
        Assert.Equal(1, (int)(await a.ReceiveAsync())!["incomplete"]!);
        await b.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = BinaryId(42), @event = "completed", left = 0 });
        var before = (await b.ReceiveAsync())!;
        Assert.Equal(1, (int)before["complete"]!);
        Assert.Equal(1, (int)before["incomplete"]!);

        // node1 dies: no clean leave, no more heartbeats. Only the TTL can remove a.
        await ((RedisTrackerCluster)node1.Services.GetRequiredService<ITrackerCluster>()).SimulateCrashAsync();
        await ((RedisSignalingCluster)node1.Services.GetRequiredService<ISignalingCluster>()).SimulateCrashAsync();
        await node1.DisposeAsync();
        Assert.Equal(1, (int)(await ScrapeAsync(b, infoHash))["incomplete"]!);

        time.Advance(ttl + TimeSpan.FromMilliseconds(1));
        var files = await ScrapeAsync(b, infoHash);
        Assert.Equal(0, (int)files["incomplete"]!);

        // b's own announce refreshes it; the dead peer is neither counted nor offered to.
        await b.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = BinaryId(42), @event = "update", left = 0, offers = new[] { new { offer = Sdp, offer_id = BinaryId(43) } } });
        var after = (await b.ReceiveAsync())!;
        Assert.Equal(1, (int)after["complete"]!);
        Assert.Equal(0, (int)after["incomplete"]!);

        // node2's heartbeat sweeps the dead entry out of Redis.
        await ((RedisTrackerCluster)node2.Services.GetRequiredService<ITrackerCluster>()).BeatNowAsync();
        await using (var redisClient = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString))
        {
            var all = await redisClient.GetDatabase().SortedSetRangeByRankAsync(AllKey(infoHash));
            Assert.Equal(Hex(BinaryId(42)), (string?)Assert.Single(all));
        }

        // A newcomer on node2 takes the dead peer's id: it is free once expired.
        await using var c = await WsClient.ConnectAsync(node2.WebSocketUri("/announce"));
        await c.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = BinaryId(41), @event = "started", left = 10 });
        Assert.Equal(1, (int)(await c.ReceiveAsync())!["incomplete"]!);
    }

    [Fact]
    public async Task The_heartbeat_keeps_live_peers_of_every_node_past_the_ttl()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var ttl = TimeSpan.FromSeconds(30);
        await using var redis = await RedisServer.StartAsync();
        await using var node1 = await NodeAsync(redis, ttl, time);
        await using var node2 = await NodeAsync(redis, ttl, time);
        var infoHash = BinaryId(60);
        await using var a = await WsClient.ConnectAsync(node1.WebSocketUri("/announce"));
        await using var b = await WsClient.ConnectAsync(node2.WebSocketUri("/announce"));
        await a.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = BinaryId(61), @event = "started", left = 10 });
        await a.ReceiveAsync();
        await b.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = BinaryId(62), @event = "completed", left = 0 });
        await b.ReceiveAsync();

        // Past the first expiry only through heartbeats (the clients announce nothing more).
        for (var i = 0; i < 4; i++)
        {
            time.Advance(ttl * 2 / 3);
            await ((RedisTrackerCluster)node1.Services.GetRequiredService<ITrackerCluster>()).BeatNowAsync();
            await ((RedisTrackerCluster)node2.Services.GetRequiredService<ITrackerCluster>()).BeatNowAsync();
        }

        var files = await ScrapeAsync(b, infoHash);
        Assert.Equal(1, (int)files["complete"]!);
        Assert.Equal(1, (int)files["incomplete"]!);

        // A peer that left is not brought back by a later beat.
        await a.SendAsync(new { action = "announce", info_hash = infoHash, peer_id = BinaryId(61), @event = "stopped" });
        await a.ReceiveAsync();
        await ((RedisTrackerCluster)node1.Services.GetRequiredService<ITrackerCluster>()).BeatNowAsync();
        Assert.Equal(0, (int)(await ScrapeAsync(b, infoHash))["incomplete"]!);
    }

    [Fact]
    public async Task With_redis_down_announce_and_scrape_fail_with_a_reason_and_the_socket_stays_usable()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var node = await NodeAsync(redis, TimeSpan.FromSeconds(30));
        await using var a = await WsClient.ConnectAsync(node.WebSocketUri("/announce"));
        await a.SendAsync(new { action = "announce", info_hash = BinaryId(50), peer_id = BinaryId(51), @event = "started" });
        Assert.Equal(1, (int)(await a.ReceiveAsync())!["incomplete"]!);
        await redis.StopAsync();

        await a.SendAsync(new { action = "announce", info_hash = BinaryId(50), peer_id = BinaryId(51), @event = "update" });
        Assert.Contains("cluster store is unavailable", (string)(await a.ReceiveAsync())!["failure reason"]!, StringComparison.Ordinal);
        await a.SendAsync(new { action = "scrape", info_hash = BinaryId(50) });
        Assert.Contains("cluster store is unavailable", (string)(await a.ReceiveAsync())!["failure reason"]!, StringComparison.Ordinal);

        // Requests that need no Redis still get their answer on the same socket.
        await a.SendTextAsync("not json");
        Assert.Contains("invalid JSON", (string)(await a.ReceiveAsync())!["failure reason"]!, StringComparison.Ordinal);
    }
}
