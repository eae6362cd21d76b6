using Microsoft.Extensions.DependencyInjection;
using WebRtcCdn.Server.Cluster;
using WebRtcCdn.Server.Tests.Signaling;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Cluster;

/// <summary>Two server nodes sharing a real redis-server: cross-node discovery and relay, node death, readiness.</summary>
public sealed class RedisClusterTests
{
    private const string Sdp = "v=0\r\n";

    private static Task<TestServer> NodeAsync(RedisServer redis, TimeSpan? ttl = null) => TestServer.StartAsync(o =>
    {
        o.Signaling.Redis = redis.ConnectionString;
        o.Signaling.Limits.ClusterTtl = ttl ?? TimeSpan.FromSeconds(30);
    });

    [Fact]
    public async Task Peers_on_different_nodes_find_each_other_and_exchange_offer_answer_and_candidates()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var node1 = await NodeAsync(redis);
        await using var node2 = await NodeAsync(redis);
        await using var a = await WsClient.ConnectAsync(node1.WebSocketUri("/signaling"));
        await using var b = await WsClient.ConnectAsync(node2.WebSocketUri("/signaling"));
        var idA = (string)(await a.ExpectAsync("welcome"))["peer_id"]!;
        var idB = (string)(await b.ExpectAsync("welcome"))["peer_id"]!;

        await a.SendAsync(new { type = "join", swarm = "film", chunks = 4, total = 4 });
        await a.ExpectAsync("joined");
        await b.SendAsync(new { type = "join", swarm = "film" });
        var peers = (await b.ExpectAsync("joined"))["peers"]!.AsArray();
        Assert.Equal(idA, (string)Assert.Single(peers)!["peer_id"]!);
        Assert.Equal(4, (int)peers[0]!["chunks"]!);

        await b.SendAsync(new { type = "offer", to = idA, cid = "x", sdp = Sdp });
        var offer = await a.ExpectAsync("offer");
        Assert.Equal(idB, (string)offer["from"]!);
        Assert.Equal("film", (string)offer["swarm"]!);
        await a.SendAsync(new { type = "answer", to = idB, cid = "x", sdp = Sdp });
        Assert.Equal(idA, (string)(await b.ExpectAsync("answer"))["from"]!);
        await a.SendAsync(new { type = "candidate", to = idB, cid = "x", candidate = "candidate:1 1 udp 1 127.0.0.1 9 typ host" });
        Assert.Equal(idA, (string)(await b.ExpectAsync("candidate"))["from"]!);

        // A relay across nodes to a peer outside the sender's swarms is refused like a local one.
        await using var c = await WsClient.ConnectAsync(node2.WebSocketUri("/signaling"));
        await c.ExpectAsync("welcome");
        await c.SendAsync(new { type = "join", swarm = "other" });
        await c.ExpectAsync("joined");
        await c.SendAsync(new { type = "offer", to = idA, sdp = Sdp });
        Assert.Equal("not-in-swarm", (string)(await c.ExpectAsync("error"))["code"]!);

        // A clean leave on one node is seen on the other.
        await a.SendAsync(new { type = "leave", swarm = "film" });
        await a.ExpectAsync("left");
        Assert.Equal(idA, (string)(await b.ExpectAsync("peer-left"))["peer_id"]!);
    }

    [Fact]
    public async Task When_a_node_dies_its_peers_vanish_from_swarms_within_the_ttl()
    {
        await using var redis = await RedisServer.StartAsync();
        var node1 = await NodeAsync(redis, TimeSpan.FromSeconds(1));
        await using var node2 = await NodeAsync(redis, TimeSpan.FromSeconds(1));
        await using var a = await WsClient.ConnectAsync(node1.WebSocketUri("/signaling"));
        await using var b = await WsClient.ConnectAsync(node2.WebSocketUri("/signaling"));
        var idA = (string)(await a.ExpectAsync("welcome"))["peer_id"]!;
        var idB = (string)(await b.ExpectAsync("welcome"))["peer_id"]!;
        await a.SendAsync(new { type = "join", swarm = "live" });
        await a.ExpectAsync("joined");
        await b.SendAsync(new { type = "join", swarm = "live" });
        Assert.Equal(idA, (string)Assert.Single((await b.ExpectAsync("joined"))["peers"]!.AsArray())!["peer_id"]!);
        await b.SendAsync(new { type = "offer", to = idA, sdp = Sdp });
        await a.ExpectAsync("offer");

        // node1 dies: no clean leave, no more heartbeats. Only the TTL can remove a.
        var cluster = (RedisSignalingCluster)node1.Services.GetRequiredService<ISignalingCluster>();
        await cluster.SimulateCrashAsync();
        await node1.DisposeAsync();

        // node2's sweep notices the expired entry and tells b, which had signaled with a.
        var left = await b.ExpectAsync("peer-left");
        Assert.Equal(idA, (string)left["peer_id"]!);
        Assert.Equal("live", (string)left["swarm"]!);

        // A new joiner is not offered the dead peer.
        await using var c = await WsClient.ConnectAsync(node2.WebSocketUri("/signaling"));
        await c.ExpectAsync("welcome");
        await c.SendAsync(new { type = "join", swarm = "live" });
        Assert.Equal(idB, (string)Assert.Single((await c.ExpectAsync("joined"))["peers"]!.AsArray())!["peer_id"]!);
    }

    [Fact]
    public async Task Readyz_is_ready_only_while_redis_answers()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var node = await NodeAsync(redis);
        using var http = node.CreateClient();
        Assert.Equal(200, (int)(await http.GetAsync("/readyz")).StatusCode);
        await using var a = await WsClient.ConnectAsync(node.WebSocketUri("/signaling"));
        await a.ExpectAsync("welcome");
        await redis.StopAsync();
        Assert.Equal(503, (int)(await http.GetAsync("/readyz")).StatusCode);
        Assert.Equal(200, (int)(await http.GetAsync("/healthz")).StatusCode);

        // A join that needs Redis fails with a typed error; the connection stays usable.
        await a.SendAsync(new { type = "join", id = 1, swarm = "s" });
        var error = await a.ExpectAsync("error");
        Assert.Equal("server-error", (string)error["code"]!);
        Assert.Equal(1, (int)error["id"]!);
        await a.SendAsync(new { type = "ping" });
        await a.ExpectAsync("pong");
    }

    /// <summary>/signaling's and /announce's clusters share one connection per node (one command and one subscription socket).</summary>
    [Fact]
    public async Task A_node_holds_one_redis_connection_for_signaling_and_the_tracker()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var probe = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        var server = probe.GetServer(redis.ConnectionString);
        var before = (await server.ClientListAsync()).Length;

        await using var node = await NodeAsync(redis);
        await using var a = await WsClient.ConnectAsync(node.WebSocketUri("/signaling"));
        await a.ExpectAsync("welcome");
        await a.SendAsync(new { type = "join", swarm = "s" });
        await a.ExpectAsync("joined");
        await using var t = await WsClient.ConnectAsync(node.WebSocketUri("/announce"));
        await t.SendAsync(new { action = "announce", info_hash = new string('i', 20), peer_id = new string('p', 20), @event = "started", left = 1, numwant = 0 });
        Assert.Equal("announce", (string)(await t.ReceiveAsync())!["action"]!);

        Assert.Equal(before + 2, (await server.ClientListAsync()).Length);
    }

    [Fact]
    public async Task Without_redis_readyz_is_ready()
    {
        await using var node = await TestServer.StartAsync();
        using var http = node.CreateClient();
        Assert.Equal(200, (int)(await http.GetAsync("/readyz")).StatusCode);
    }
}
