using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Core.Signaling;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Signaling;

/// <summary>The native protocol over real WebSockets against the real server.</summary>
public sealed class SignalingEndToEndTests
{
    private const string Sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";

    [Fact]
    public async Task Welcome_assigns_a_server_peer_id_and_the_protocol_parameters()
    {
        await using var server = await TestServer.StartAsync(o => o.IceServers.Stun.Add("stun:stun.example.com:3478"));
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await using var b = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        var wa = await a.ExpectAsync("welcome");
        var wb = await b.ExpectAsync("welcome");
        Assert.Equal(1, (int)wa["v"]!);
        Assert.Equal(22, ((string)wa["peer_id"]!).Length);
        Assert.NotEqual((string?)wa["peer_id"], (string?)wb["peer_id"]);
        Assert.Equal("none", (string)wa["auth"]!);
        Assert.Equal(65536, (int)wa["max_message_size"]!);
        Assert.Equal("stun:stun.example.com:3478", (string)wa["ice_servers"]![0]!["urls"]![0]!);
        Assert.False(string.IsNullOrEmpty((string?)wa["resume_token"]));
    }

    [Fact]
    public async Task Two_peers_meet_in_a_swarm_and_offer_answer_and_candidates_are_relayed_with_the_server_stamped_from()
    {
        await using var server = await TestServer.StartAsync();
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await using var b = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        var idA = (string)(await a.ExpectAsync("welcome"))["peer_id"]!;
        var idB = (string)(await b.ExpectAsync("welcome"))["peer_id"]!;

        await a.SendAsync(new { type = "join", id = 1, swarm = "movie", role = "edge", chunks = 10, total = 10 });
        var joinedA = await a.ExpectAsync("joined");
        Assert.Equal(1, (int)joinedA["id"]!);
        Assert.Empty(joinedA["peers"]!.AsArray());

        await b.SendAsync(new { type = "join", id = 7, swarm = "movie", chunks = 0, total = 10 });
        var joinedB = await b.ExpectAsync("joined");
        var peer = Assert.Single(joinedB["peers"]!.AsArray())!;
        Assert.Equal(idA, (string)peer["peer_id"]!);
        Assert.Equal("edge", (string)peer["role"]!);
        Assert.Equal(10, (int)peer["chunks"]!);

        await b.SendAsync(new { type = "offer", to = idA, cid = "c1", sdp = Sdp });
        var offer = await a.ExpectAsync("offer");
        Assert.Equal(idB, (string)offer["from"]!);
        Assert.Equal("movie", (string)offer["swarm"]!);
        Assert.Equal("c1", (string)offer["cid"]!);
        Assert.Equal(Sdp, (string)offer["sdp"]!);

        await a.SendAsync(new { type = "answer", to = idB, from = idA, cid = "c1", sdp = Sdp });
        var answer = await b.ExpectAsync("answer");
        Assert.Equal(idA, (string)answer["from"]!);

        await a.SendAsync(new { type = "candidate", to = idB, cid = "c1", candidate = new { candidate = "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", sdpMid = "0", sdpMLineIndex = 0 } });
        var candidate = await b.ExpectAsync("candidate");
        Assert.Equal("0", (string)candidate["candidate"]!["sdpMid"]!);
        await a.SendTextAsync($$"""{"type":"candidate","to":"{{idB}}","candidate":null}""");
        var end = await b.ExpectAsync("candidate");
        Assert.Null(end["candidate"]);
    }

    [Fact]
    public async Task A_relay_to_a_peer_outside_ones_swarms_is_refused_and_never_delivered()
    {
        await using var server = await TestServer.StartAsync();
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await using var b = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await a.ExpectAsync("welcome");
        var idB = (string)(await b.ExpectAsync("welcome"))["peer_id"]!;
        await a.SendAsync(new { type = "join", swarm = "one" });
        await a.ExpectAsync("joined");
        await b.SendAsync(new { type = "join", swarm = "two" });
        await b.ExpectAsync("joined");

        await a.SendAsync(new { type = "offer", id = 3, to = idB, sdp = Sdp });
        var error = await a.ExpectAsync("error");
        Assert.Equal(SignalingErrorCodes.NotInSwarm, (string)error["code"]!);
        Assert.Equal(3, (int)error["id"]!);
        Assert.Equal("offer", (string)error["ref"]!);

        // The same relay to an id that does not exist gets the same answer (ids cannot be probed).
        await a.SendAsync(new { type = "offer", to = "AAAAAAAAAAAAAAAAAAAAAA", sdp = Sdp });
        Assert.Equal(SignalingErrorCodes.NotInSwarm, (string)(await a.ExpectAsync("error"))["code"]!);

        // b got nothing but its own traffic: its next message is the pong to its ping.
        await b.SendAsync(new { type = "ping", id = 9 });
        Assert.Equal("pong", (string)(await b.ReceiveAsync())!["type"]!);
    }

    [Fact]
    public async Task A_spoofed_from_is_refused()
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

        await a.SendAsync(new { type = "offer", to = idB, from = idB, sdp = Sdp });
        Assert.Equal(SignalingErrorCodes.SpoofedFrom, (string)(await a.ExpectAsync("error"))["code"]!);
    }

    [Theory]
    [InlineData("{not json", SignalingErrorCodes.BadJson)]
    [InlineData("[1,2]", SignalingErrorCodes.BadJson)]
    [InlineData("{\"type\":\"teleport\"}", SignalingErrorCodes.UnknownType)]
    [InlineData("{\"swarm\":\"x\"}", SignalingErrorCodes.MissingField)]
    [InlineData("{\"type\":\"join\"}", SignalingErrorCodes.MissingField)]
    [InlineData("{\"type\":\"offer\",\"sdp\":\"v=0\"}", SignalingErrorCodes.MissingField)]
    [InlineData("{\"type\":\"join\",\"swarm\":\"x\",\"role\":\"god\"}", SignalingErrorCodes.InvalidField)]
    [InlineData("{\"type\":\"join\",\"swarm\":\"x\",\"chunks\":-1}", SignalingErrorCodes.InvalidField)]
    [InlineData("{\"type\":\"have\",\"swarm\":\"not-joined\",\"chunks\":1}", SignalingErrorCodes.NotInSwarm)]
    [InlineData("{\"type\":\"join\",\"swarm\":\"x\",\"a\":[[[[[[[[[[1]]]]]]]]]]}", SignalingErrorCodes.BadJson)]
    public async Task Bad_messages_get_a_typed_error_and_the_connection_stays_usable(string message, string code)
    {
        await using var server = await TestServer.StartAsync();
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await a.ExpectAsync("welcome");
        await a.SendTextAsync(message);
        var error = await a.ExpectAsync("error");
        Assert.Equal(code, (string)error["code"]!);
        Assert.False(string.IsNullOrEmpty((string?)error["message"]));
        await a.SendAsync(new { type = "ping" });
        await a.ExpectAsync("pong");
    }

    [Fact]
    public async Task A_binary_frame_gets_an_error()
    {
        await using var server = await TestServer.StartAsync();
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await a.ExpectAsync("welcome");
        await a.SendBinaryAsync([1, 2, 3]);
        Assert.Equal(SignalingErrorCodes.BadJson, (string)(await a.ExpectAsync("error"))["code"]!);
    }

    [Fact]
    public async Task A_message_over_the_size_cap_closes_with_1009()
    {
        await using var server = await TestServer.StartAsync(o => o.Signaling.Limits.MaxMessageSize = 4096);
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await a.ExpectAsync("welcome");
        await a.SendAsync(new { type = "offer", to = "x", sdp = new string('a', 5000) });
        Assert.Equal((WebSocketCloseStatus)SignalingCloseCodes.MessageTooBig, await a.ExpectClosedAsync());
    }

    [Fact]
    public async Task Repeated_errors_close_the_connection_with_policy_violation()
    {
        await using var server = await TestServer.StartAsync();
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await a.ExpectAsync("welcome");
        for (var i = 0; i < 40; i++)
        {
            await a.SendTextAsync("{garbage");
        }

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await a.ExpectClosedAsync());
    }

    [Fact]
    public async Task Messages_above_the_rate_get_rate_limited_then_persistent_excess_closes()
    {
        var time = new FakeTimeProvider();
        await using var server = await TestServer.StartAsync(
            o =>
            {
                o.Signaling.Limits.MessageRate = 1;
                o.Signaling.Limits.MessageBurst = 3;
            },
            b => b.Services.AddSingleton<TimeProvider>(time));
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await a.ExpectAsync("welcome");
        for (var i = 0; i < 3; i++)
        {
            await a.SendAsync(new { type = "ping" });
            await a.ExpectAsync("pong");
        }

        await a.SendAsync(new { type = "ping" });
        Assert.Equal(SignalingErrorCodes.RateLimited, (string)(await a.ExpectAsync("error"))["code"]!);

        // Time frozen: the bucket never refills, so every further message is excess until the socket closes.
        time.Advance(TimeSpan.FromSeconds(1));
        await a.SendAsync(new { type = "ping" });
        await a.ExpectAsync("pong");
        for (var i = 0; i < 20; i++)
        {
            await a.SendAsync(new { type = "ping" });
        }

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await a.ExpectClosedAsync());
    }

    [Fact]
    public async Task A_silent_connection_is_closed_after_the_idle_timeout()
    {
        var time = new FakeTimeProvider();
        await using var server = await TestServer.StartAsync(o => o.Signaling.Limits.IdleTimeout = TimeSpan.FromSeconds(60), b => b.Services.AddSingleton<TimeProvider>(time));
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await a.ExpectAsync("welcome");
        time.Advance(TimeSpan.FromSeconds(59));
        await a.SendAsync(new { type = "ping" });
        await a.ExpectAsync("pong");
        time.Advance(TimeSpan.FromSeconds(59));
        // The ping reset the clock: still open.
        await a.SendAsync(new { type = "ping" });
        await a.ExpectAsync("pong");
        time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal((WebSocketCloseStatus)SignalingCloseCodes.IdleTimeout, await a.ExpectClosedAsync());
    }

    [Fact]
    public async Task Origins_are_checked_at_the_upgrade()
    {
        await using var server = await TestServer.StartAsync(o => o.Security.AllowedOrigins.Add("https://video.example.com"));
        var uri = server.WebSocketUri("/signaling");
        Assert.Equal(403, await WsClient.RefusedStatusAsync(uri, "https://evil.example.net"));
        Assert.Equal(403, await WsClient.RefusedStatusAsync(uri, "null"));
        await using var listed = await WsClient.ConnectAsync(uri, "https://video.example.com");
        await listed.ExpectAsync("welcome");
        await using var sameOrigin = await WsClient.ConnectAsync(uri, $"http://{server.BaseUri.Authority}");
        await sameOrigin.ExpectAsync("welcome");
        await using var nonBrowser = await WsClient.ConnectAsync(uri);
        await nonBrowser.ExpectAsync("welcome");
        Assert.Equal(403, await WsClient.RefusedStatusAsync(server.WebSocketUri("/announce"), "https://evil.example.net"));
    }

    [Fact]
    public async Task Connections_per_address_and_per_node_are_capped()
    {
        await using (var server = await TestServer.StartAsync(o => o.Signaling.Limits.ConnectionsPerIp = 2))
        {
            await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
            await using var b = await WsClient.ConnectAsync(server.WebSocketUri("/announce"));
            Assert.Equal(429, await WsClient.RefusedStatusAsync(server.WebSocketUri("/signaling")));
        }

        await using (var server = await TestServer.StartAsync(o => o.P2P.MaxPeers = 1))
        {
            await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
            await a.ExpectAsync("welcome");
            Assert.Equal(503, await WsClient.RefusedStatusAsync(server.WebSocketUri("/signaling")));
            Assert.Equal(503, await WsClient.RefusedStatusAsync(server.WebSocketUri("/announce")));
        }
    }

    [Fact]
    public async Task A_plain_http_request_and_an_unknown_version_are_refused()
    {
        await using var server = await TestServer.StartAsync();
        using var http = server.CreateClient();
        Assert.Equal(426, (int)(await http.GetAsync("/signaling")).StatusCode);
        Assert.Equal(400, await WsClient.RefusedStatusAsync(new Uri(server.WebSocketUri("/signaling") + "?v=2")));
        await using var v1 = await WsClient.ConnectAsync(new Uri(server.WebSocketUri("/signaling") + "?v=1"));
        await v1.ExpectAsync("welcome");
    }

    [Fact]
    public async Task Joins_need_a_valid_token_when_a_secret_is_configured()
    {
        const string Secret = "0123456789abcdef0123456789abcdef";
        await using var server = await TestServer.StartAsync(o => o.Signaling.TokenSecret = Secret);
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        Assert.Equal("token", (string)(await a.ExpectAsync("welcome"))["auth"]!);

        await a.SendAsync(new { type = "join", swarm = "videos/1" });
        Assert.Equal(SignalingErrorCodes.Unauthorized, (string)(await a.ExpectAsync("error"))["code"]!);

        var other = JoinToken.Create("another-secret-of-16+", "videos/1", DateTimeOffset.UtcNow.AddHours(1));
        await a.SendAsync(new { type = "join", swarm = "videos/1", token = other });
        Assert.Equal(SignalingErrorCodes.Unauthorized, (string)(await a.ExpectAsync("error"))["code"]!);

        var expired = JoinToken.Create(Secret, "videos/1", DateTimeOffset.UtcNow.AddMinutes(-1));
        await a.SendAsync(new { type = "join", swarm = "videos/1", token = expired });
        Assert.Equal(SignalingErrorCodes.TokenExpired, (string)(await a.ExpectAsync("error"))["code"]!);

        var scoped = JoinToken.Create(Secret, "videos/*", DateTimeOffset.UtcNow.AddHours(1));
        await a.SendAsync(new { type = "join", swarm = "music/1", token = scoped });
        Assert.Equal(SignalingErrorCodes.Unauthorized, (string)(await a.ExpectAsync("error"))["code"]!);
        await a.SendAsync(new { type = "join", swarm = "videos/1", token = scoped });
        Assert.Equal("videos/1", (string)(await a.ExpectAsync("joined"))["swarm"]!);
    }

    [Fact]
    public async Task A_client_resumes_its_peer_id_with_the_resume_token_and_a_forged_token_gets_a_new_id()
    {
        await using var server = await TestServer.StartAsync();
        string id, token;
        await using (var first = await WsClient.ConnectAsync(server.WebSocketUri("/signaling")))
        {
            var welcome = await first.ExpectAsync("welcome");
            id = (string)welcome["peer_id"]!;
            token = (string)welcome["resume_token"]!;
        }

        await using var second = await WsClient.ConnectAsync(new Uri(server.WebSocketUri("/signaling") + "?resume=" + Uri.EscapeDataString(token)));
        var resumed = await second.ExpectAsync("welcome");
        Assert.Equal(id, (string)resumed["peer_id"]!);
        Assert.True((bool)resumed["resumed"]!);

        var forged = token[..^2] + (token[^2] == 'A' ? "BB" : "AA");
        await using var third = await WsClient.ConnectAsync(new Uri(server.WebSocketUri("/signaling") + "?resume=" + Uri.EscapeDataString(forged)));
        var fresh = await third.ExpectAsync("welcome");
        Assert.NotEqual(id, (string)fresh["peer_id"]!);
        Assert.False((bool)fresh["resumed"]!);
    }

    [Fact]
    public async Task Resuming_a_live_peer_id_replaces_the_old_connection()
    {
        await using var server = await TestServer.StartAsync();
        await using var first = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        var token = (string)(await first.ExpectAsync("welcome"))["resume_token"]!;
        await using var second = await WsClient.ConnectAsync(new Uri(server.WebSocketUri("/signaling") + "?resume=" + Uri.EscapeDataString(token)));
        await second.ExpectAsync("welcome");
        Assert.Equal((WebSocketCloseStatus)SignalingCloseCodes.Replaced, await first.ExpectClosedAsync());
    }

    [Fact]
    public async Task Peers_that_signaled_with_a_departed_peer_get_peer_left()
    {
        await using var server = await TestServer.StartAsync();
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        var b = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        var idA = (string)(await a.ExpectAsync("welcome"))["peer_id"]!;
        var idB = (string)(await b.ExpectAsync("welcome"))["peer_id"]!;
        await a.SendAsync(new { type = "join", swarm = "s" });
        await a.ExpectAsync("joined");
        await b.SendAsync(new { type = "join", swarm = "s" });
        await b.ExpectAsync("joined");
        await b.SendAsync(new { type = "offer", to = idA, sdp = Sdp });
        await a.ExpectAsync("offer");
        await b.DisposeAsync();
        var left = await a.ExpectAsync("peer-left");
        Assert.Equal(idB, (string)left["peer_id"]!);
        Assert.Equal("s", (string)left["swarm"]!);
    }

    [Fact]
    public async Task Leave_removes_the_peer_from_the_swarm()
    {
        await using var server = await TestServer.StartAsync();
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await using var b = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await a.ExpectAsync("welcome");
        await b.ExpectAsync("welcome");
        await a.SendAsync(new { type = "join", swarm = "s" });
        await a.ExpectAsync("joined");
        await a.SendAsync(new { type = "leave", id = 2, swarm = "s" });
        Assert.Equal(2, (int)(await a.ExpectAsync("left"))["id"]!);
        await b.SendAsync(new { type = "join", swarm = "s" });
        Assert.Empty((await b.ExpectAsync("joined"))["peers"]!.AsArray());
    }

    [Fact]
    public async Task A_client_that_does_not_read_is_disconnected_and_never_grows_server_memory()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Signaling.Limits.SendQueue = 4;
            o.Signaling.Limits.MessageRate = 100_000;
            o.Signaling.Limits.MessageBurst = 100_000;
        });
        await using var watcher = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await using var flooder = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await using var sleeper = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await watcher.ExpectAsync("welcome");
        await flooder.ExpectAsync("welcome");
        var idSleeper = (string)(await sleeper.ExpectAsync("welcome"))["peer_id"]!;
        foreach (var c in new[] { sleeper, watcher, flooder })
        {
            await c.SendAsync(new { type = "join", swarm = "s" });
            await c.ExpectAsync("joined");
        }

        // The watcher signals with the sleeper once, so it is told when the sleeper goes. The sleeper reads that offer
        // (its last read): the watcher is then a contact before the flood starts. Without the wait, a loaded machine
        // could handle the flood first and drop the sleeper before the watcher's offer made it a contact (CI saw it).
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

    [Fact]
    public async Task A_peer_that_leaves_while_an_offer_to_it_is_relayed_is_reported_to_the_sender()
    {
        await using var server = await TestServer.StartAsync();
        var hub = server.Services.GetRequiredService<WebRtcCdn.Server.Signaling.SignalingHub>();
        var (sender, target, idTarget) = await TwoPeersInSwarmAsync(server);
        await using var senderLease = sender;
        await using var targetLease = target;

        // The target's connection ends between the relay's send and the contact registration: its departure (and its
        // peer-left to its contacts, which did not include the sender yet) happens in that window.
        hub.AfterRelaySendForTests = t =>
        {
            hub.AfterRelaySendForTests = null;
            hub.ClosedAsync(t).AsTask().GetAwaiter().GetResult();
        };
        await sender.SendAsync(new { type = "offer", to = idTarget, sdp = Sdp });
        var left = await sender.ExpectAsync("peer-left");
        Assert.Equal(idTarget, (string)left["peer_id"]!);
        Assert.Equal("s", (string)left["swarm"]!);

        // Exactly once: the next message is the answer to a ping, not a second peer-left.
        await sender.SendAsync(new { type = "ping" });
        Assert.Equal("pong", (string)(await sender.ReceiveAsync())!["type"]!);
    }

    [Fact]
    public async Task A_peer_that_leaves_the_swarm_while_an_offer_to_it_is_relayed_is_reported_to_the_sender_once()
    {
        await using var server = await TestServer.StartAsync();
        var hub = server.Services.GetRequiredService<WebRtcCdn.Server.Signaling.SignalingHub>();
        var (sender, target, idTarget) = await TwoPeersInSwarmAsync(server);
        await using var senderLease = sender;
        await using var targetLease = target;

        // The target leaves the swarm but stays connected (what its 'leave' does), between the relay's send and the
        // contact registration: no departure covers it, the swarm membership does.
        hub.AfterRelaySendForTests = t =>
        {
            hub.AfterRelaySendForTests = null;
            Assert.True(hub.Registry.Leave("s", t.PeerId));
            hub.PeerGone(t.PeerId, "s");
        };
        await sender.SendAsync(new { type = "offer", to = idTarget, sdp = Sdp });
        var left = await sender.ExpectAsync("peer-left");
        Assert.Equal(idTarget, (string)left["peer_id"]!);
        Assert.Equal("s", (string)left["swarm"]!);
        await sender.SendAsync(new { type = "ping" });
        Assert.Equal("pong", (string)(await sender.ReceiveAsync())!["type"]!);
    }

    [Fact]
    public async Task A_contact_that_departs_during_a_later_relay_is_reported_to_the_sender_once()
    {
        await using var server = await TestServer.StartAsync();
        var hub = server.Services.GetRequiredService<WebRtcCdn.Server.Signaling.SignalingHub>();
        var (sender, target, idTarget) = await TwoPeersInSwarmAsync(server);
        await using var senderLease = sender;
        await using var targetLease = target;

        // A first relay makes them contacts; the target departs inside the second one. The departure's own peer-left
        // reaches the sender (a watcher already), and the relay must not add a second.
        await sender.SendAsync(new { type = "offer", to = idTarget, sdp = Sdp });
        await target.ExpectAsync("offer");
        hub.AfterRelaySendForTests = t =>
        {
            hub.AfterRelaySendForTests = null;
            hub.ClosedAsync(t).AsTask().GetAwaiter().GetResult();
        };
        await sender.SendAsync(new { type = "candidate", to = idTarget, cid = "c1", candidate = new { candidate = "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", sdpMid = "0", sdpMLineIndex = 0 } });
        var left = await sender.ExpectAsync("peer-left");
        Assert.Equal(idTarget, (string)left["peer_id"]!);
        await sender.SendAsync(new { type = "ping" });
        Assert.Equal("pong", (string)(await sender.ReceiveAsync())!["type"]!);
    }

    /// <summary>A sender and a target, both welcomed and joined to swarm "s" (the relay-race tests' starting point).</summary>
    private static async Task<(WsClient Sender, WsClient Target, string TargetId)> TwoPeersInSwarmAsync(TestServer server)
    {
        var sender = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        var target = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await sender.ExpectAsync("welcome");
        var idTarget = (string)(await target.ExpectAsync("welcome"))["peer_id"]!;
        foreach (var c in new[] { sender, target })
        {
            await c.SendAsync(new { type = "join", swarm = "s" });
            await c.ExpectAsync("joined");
        }

        return (sender, target, idTarget);
    }

    [Fact]
    public async Task Ice_servers_carry_ephemeral_turn_rest_credentials_bound_to_the_peer()
    {
        const string TurnSecret = "coturn-static-auth-secret";
        await using var server = await TestServer.StartAsync(o =>
        {
            var turn = new TurnServerOptions();
            turn.Urls.Add("turn:turn.example.com:3478");
            o.IceServers.Turn.Add(turn);
            var fixedTurn = new TurnServerOptions { Username = "static", Credential = "pass" };
            fixedTurn.Urls.Add("turns:turn2.example.com:5349");
            o.IceServers.Turn.Add(fixedTurn);
            o.IceServers.TurnSecret = TurnSecret;
            o.IceServers.TurnTtl = TimeSpan.FromHours(2);
        });
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        var id = (string)(await a.ExpectAsync("welcome"))["peer_id"]!;
        await a.SendAsync(new { type = "ice-servers", id = 5 });
        var reply = await a.ExpectAsync("ice-servers");
        Assert.Equal(5, (int)reply["id"]!);
        Assert.Equal(7200, (int)reply["ttl"]!);
        var servers = reply["ice_servers"]!.AsArray();
        var ephemeral = servers[0]!;
        var username = (string)ephemeral["username"]!;
        var parts = username.Split(':');
        Assert.Equal(id, parts[1]);
        var expiry = DateTimeOffset.FromUnixTimeSeconds(long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(expiry, DateTimeOffset.UtcNow.AddHours(1.9), DateTimeOffset.UtcNow.AddHours(2.1));
        Assert.Equal(TurnCredentials.ComputeCredential(TurnSecret, username), (string)ephemeral["credential"]!);
        Assert.Equal("static", (string)servers[1]!["username"]!);
    }

    [Fact]
    public async Task Join_prefers_the_same_network_group_then_peers_with_missing_chunks_and_skips_full_peers()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Signaling.NetworkGroups.Add(new NetworkGroupOptions { Network = System.Net.IPNetwork.Parse("127.0.0.0/8"), Group = "loopback" });
        });
        var clients = new List<WsClient>();
        try
        {
            var ids = new List<string>();
            foreach (var (chunks, max, conns) in new[] { (1, 0, 0), (9, 0, 0), (5, 2, 2), (3, 0, 0) })
            {
                var c = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
                clients.Add(c);
                ids.Add((string)(await c.ExpectAsync("welcome"))["peer_id"]!);
                await c.SendAsync(new { type = "join", swarm = "s", chunks, total = 10, max_connections = max, connections = conns });
                await c.ExpectAsync("joined");
            }

            var joiner = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
            clients.Add(joiner);
            await joiner.ExpectAsync("welcome");
            await joiner.SendAsync(new { type = "join", swarm = "s", chunks = 0, total = 10, want = 2 });
            var peers = (await joiner.ExpectAsync("joined"))["peers"]!.AsArray();
            Assert.Equal([ids[1], ids[3]], peers.Select(p => (string)p!["peer_id"]!).ToArray());
            Assert.True((bool)peers[0]!["same_group"]!);
        }
        finally
        {
            foreach (var c in clients)
            {
                await c.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Swarm_size_and_swarms_per_connection_are_capped()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Signaling.Limits.PeersPerSwarm = 1;
            o.Signaling.Limits.SwarmsPerPeer = 2;
        });
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await using var b = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await a.ExpectAsync("welcome");
        await b.ExpectAsync("welcome");
        await a.SendAsync(new { type = "join", swarm = "s1" });
        await a.ExpectAsync("joined");
        await b.SendAsync(new { type = "join", swarm = "s1" });
        Assert.Equal(SignalingErrorCodes.SwarmFull, (string)(await b.ExpectAsync("error"))["code"]!);
        await a.SendAsync(new { type = "join", swarm = "s2" });
        await a.ExpectAsync("joined");
        await a.SendAsync(new { type = "join", swarm = "s3" });
        Assert.Equal(SignalingErrorCodes.TooManySwarms, (string)(await a.ExpectAsync("error"))["code"]!);
    }
}
