using System.Net;
using System.Text.Json.Nodes;
using WebRtcCdn.Server.Tests.Signaling;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Observability;

public sealed class ObservabilityTests
{
    [Fact]
    public async Task Metrics_are_exported_in_prometheus_text_format()
    {
        await using var server = await TestServer.StartAsync(o => o.Security.AllowedOrigins.Add("https://ok.example.com"));
        await using (var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling")))
        {
            await a.ExpectAsync("welcome");
            await a.SendAsync(new { type = "join", swarm = "s" });
            await a.ExpectAsync("joined");
            await a.SendTextAsync("{bad");
            await a.ExpectAsync("error");
            using var http = server.CreateClient();
            Assert.Equal(403, await WsClient.RefusedStatusAsync(server.WebSocketUri("/signaling"), "https://bad.example.com"));

            var response = await http.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("text/plain; version=0.0.4", response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
            var text = await response.Content.ReadAsStringAsync();
            Assert.Contains("# TYPE webrtc_cdn_connections_opened_total counter", text, StringComparison.Ordinal);
            Assert.Contains("webrtc_cdn_connections_opened_total{endpoint=\"signaling\"} 1", text, StringComparison.Ordinal);
            Assert.Contains("webrtc_cdn_joins_total{endpoint=\"signaling\"} 1", text, StringComparison.Ordinal);
            Assert.Contains("webrtc_cdn_rejects_total{endpoint=\"signaling\",reason=\"bad-json\"} 1", text, StringComparison.Ordinal);
            Assert.Contains("webrtc_cdn_rejects_total{endpoint=\"signaling\",reason=\"origin\"} 1", text, StringComparison.Ordinal);
            Assert.Contains("# TYPE webrtc_cdn_signaling_peers gauge", text, StringComparison.Ordinal);
            Assert.Contains("webrtc_cdn_signaling_peers 1", text, StringComparison.Ordinal);
            Assert.Contains("webrtc_cdn_signaling_swarms 1", text, StringComparison.Ordinal);
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Assert.Matches(@"^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*=""[^""]*""(,[a-zA-Z_][a-zA-Z0-9_]*=""[^""]*"")*\})? -?[0-9.eE+-]+)$", line);
            }
        }
    }

    [Fact]
    public async Task Stats_report_peers_swarms_and_what_peers_reported_of_their_transfers()
    {
        await using var server = await TestServer.StartAsync();
        await using var a = await WsClient.ConnectAsync(server.WebSocketUri("/signaling"));
        await using var t = await WsClient.ConnectAsync(server.WebSocketUri("/announce"));
        await a.ExpectAsync("welcome");
        await a.SendAsync(new { type = "join", swarm = "s", connections = 2 });
        await a.ExpectAsync("joined");
        await a.SendAsync(new { type = "have", swarm = "s", chunks = 3, connections = 4, uploaded = 1000, served = 2 });
        await a.SendAsync(new { type = "have", swarm = "s", chunks = 4, connections = 4, uploaded = 1500, served = 3 });
        await t.SendAsync(new { action = "announce", info_hash = new string('i', 20), peer_id = new string('p', 20), @event = "completed", left = 0, uploaded = 500 });
        await t.ReceiveAsync();
        // A ping round trip orders the have messages before the stats request.
        await a.SendAsync(new { type = "ping" });
        await a.ExpectAsync("pong");

        using var http = server.CreateClient();
        var stats = JsonNode.Parse(await http.GetStringAsync("/stats"))!;
        Assert.Equal(2, (int)stats["total_peers"]!);
        Assert.Equal(1, (int)stats["signaling_peers"]!);
        Assert.Equal(1, (int)stats["tracker_peers"]!);
        Assert.Equal(2, (int)stats["swarms"]!);
        Assert.Equal(1, (int)stats["seeders"]!);
        Assert.Equal(2, (int)stats["active_transfers"]!);
        Assert.Equal(2000, (long)stats["bytes_delivered"]!);
        Assert.Equal(3, (long)stats["chunks_served"]!);
    }
}
