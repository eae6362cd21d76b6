using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using WebRtcCdn.Core.Signaling;
using WebRtcCdn.Core.Signaling.Client;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Core.Tests.Signaling.Client;

/// <summary>The native signaling client over real WebSockets: against the real server, and against a scripted hostile one.</summary>
public sealed class NativeSignalingClientTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Two_clients_meet_in_a_swarm_and_an_offer_is_relayed_with_the_server_stamped_sender()
    {
        await using var server = await TestServer.StartAsync();
        await using var a = new NativeSignalingClient(server.BaseUri);
        await using var b = new NativeSignalingClient(server.BaseUri);
        var relayed = new TaskCompletionSource<RelayMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.MessageReceived += m =>
        {
            if (m is RelayMessage r)
            {
                relayed.TrySetResult(r);
            }
        };
        await a.ConnectAsync().WaitAsync(Guard);
        await b.ConnectAsync().WaitAsync(Guard);
        var first = await b.JoinAsync(new JoinRequest { Swarm = "movie", Role = PeerRole.Edge, Chunks = 3, Total = 3, Bitfield = [0xE0] }).WaitAsync(Guard);
        Assert.Empty(first.Peers);
        var joined = await a.JoinAsync(new JoinRequest { Swarm = "movie", Total = 3, Want = 5 }).WaitAsync(Guard);
        var edge = Assert.Single(joined.Peers);
        Assert.Equal((b.PeerId, PeerRole.Edge, 3), (edge.PeerId, edge.Role, edge.Chunks));
        Assert.True(a.SendDescription(RelayKind.Offer, b.PeerId!, "movie", "c1", "v=0\r\n"));
        var offer = await relayed.Task.WaitAsync(Guard);
        Assert.Equal((RelayKind.Offer, a.PeerId, "movie", "c1", "v=0\r\n"), (offer.Kind, offer.From, offer.Swarm, offer.ConnectionId, offer.Sdp));
        await a.PingAsync().WaitAsync(Guard);
        await a.LeaveAsync("movie").WaitAsync(Guard);
    }

    [Fact]
    public async Task A_refused_join_is_an_exception_with_the_server_code()
    {
        await using var server = await TestServer.StartAsync(o => o.Signaling.TokenSecret = "0123456789abcdef0123456789abcdef");
        await using var client = new NativeSignalingClient(server.BaseUri);
        await client.ConnectAsync().WaitAsync(Guard);
        var e = await Assert.ThrowsAsync<SignalingClientException>(() => client.JoinAsync(new JoinRequest { Swarm = "movie" }).WaitAsync(Guard));
        Assert.Equal(SignalingErrorCodes.Unauthorized, e.Code);
        var token = JoinToken.Create("0123456789abcdef0123456789abcdef", "movie", DateTimeOffset.UtcNow.AddMinutes(5));
        await client.JoinAsync(new JoinRequest { Swarm = "movie", Token = token }).WaitAsync(Guard);
    }

    [Fact]
    public async Task Connecting_to_nothing_fails_with_a_clear_error()
    {
        await using var client = new NativeSignalingClient(new Uri($"http://127.0.0.1:{FreePort.Tcp()}/"), new NativeSignalingClientOptions { MinBackoff = TimeSpan.FromMilliseconds(50) });
        var e = await Assert.ThrowsAsync<SignalingClientException>(() => client.ConnectAsync().WaitAsync(Guard));
        Assert.Contains("cannot connect", e.Message, StringComparison.Ordinal);
        Assert.False(client.IsConnected);
    }

    [Fact]
    public async Task Bad_server_messages_are_reported_and_dropped_and_a_dropped_connection_is_resumed_with_the_token()
    {
        var queries = new ConcurrentQueue<string>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.UseWebSockets();
        app.Map("/signaling", async (HttpContext context) =>
        {
            queries.Enqueue(context.Request.QueryString.Value ?? string.Empty);
            using var ws = await context.WebSockets.AcceptWebSocketAsync();
            var resumed = context.Request.Query["resume"] == "tok-1";
            await SendAsync(ws, $$"""{"type":"welcome","v":1,"peer_id":"{{(resumed ? "AAAA" : "AAAA")}}","resume_token":"tok-{{queries.Count}}","resumed":{{(resumed ? "true" : "false")}},"heartbeat_interval":20000}""");
            if (resumed)
            {
                // Stay until the client leaves.
                var buffer = new byte[1024];
                while ((await ws.ReceiveAsync(buffer, CancellationToken.None)).MessageType != WebSocketMessageType.Close)
                {
                }

                return;
            }

            await SendAsync(ws, "not json at all");
            await ws.SendAsync(new byte[] { 1, 2, 3 }, WebSocketMessageType.Binary, true, CancellationToken.None);
            await SendAsync(ws, """{"type":"joined","swarm":"s","peers":[{"peer_id":"../etc"}]}""");
            await SendAsync(ws, """{"type":"offer","from":"BBBB","swarm":"s","cid":"c","sdp":"v=0"}""");
            await ws.CloseAsync(WebSocketCloseStatus.InternalServerError, "scripted drop", CancellationToken.None);
        });
        await app.StartAsync();
        var url = new Uri(app.Urls.First());

        await using var client = new NativeSignalingClient(url, new NativeSignalingClientOptions { MinBackoff = TimeSpan.FromMilliseconds(20), MaxBackoff = TimeSpan.FromMilliseconds(100) });
        var errors = new ConcurrentQueue<string>();
        var welcomes = new ConcurrentQueue<WelcomeMessage>();
        var resumedWelcome = new TaskCompletionSource<WelcomeMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var validRelay = new TaskCompletionSource<RelayMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.ProtocolError += errors.Enqueue;
        client.Welcomed += w =>
        {
            welcomes.Enqueue(w);
            if (w.Resumed)
            {
                resumedWelcome.TrySetResult(w);
            }
        };
        client.MessageReceived += m =>
        {
            if (m is RelayMessage r)
            {
                validRelay.TrySetResult(r);
            }
        };
        await client.ConnectAsync().WaitAsync(Guard);
        Assert.Equal("BBBB", (await validRelay.Task.WaitAsync(Guard)).From); // the good message after three bad ones still arrives
        await resumedWelcome.Task.WaitAsync(Guard);
        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.Contains("not valid JSON", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("binary", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("peer id", StringComparison.Ordinal));
        Assert.Equal(["?v=1", "?v=1&resume=tok-1"], queries.ToArray());
        Assert.Equal(2, client.Connections);
        Assert.True(client.IsConnected);
        await app.StopAsync();
    }

    [Fact]
    public async Task The_heartbeat_pings_at_the_interval_the_server_asked_for_in_virtual_time()
    {
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.UseWebSockets();
        app.Map("/signaling", async (HttpContext context) =>
        {
            using var ws = await context.WebSockets.AcceptWebSocketAsync();
            await SendAsync(ws, """{"type":"welcome","v":1,"peer_id":"AAAA","resume_token":"t","heartbeat_interval":5000}""");
            var buffer = new byte[1024];
            var result = await ws.ReceiveAsync(buffer, CancellationToken.None);
            received.TrySetResult(Encoding.UTF8.GetString(buffer, 0, result.Count));
            while ((await ws.ReceiveAsync(buffer, CancellationToken.None)).MessageType != WebSocketMessageType.Close)
            {
            }
        });
        await app.StartAsync();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        await using var client = new NativeSignalingClient(new Uri(app.Urls.First()), time: time);
        await client.ConnectAsync().WaitAsync(Guard);
        time.Advance(TimeSpan.FromMilliseconds(4999));
        Assert.False(received.Task.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("""{"type":"ping"}""", await received.Task.WaitAsync(Guard));
        await app.StopAsync();
    }

    private static Task SendAsync(WebSocket ws, string text) =>
        ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);
}
