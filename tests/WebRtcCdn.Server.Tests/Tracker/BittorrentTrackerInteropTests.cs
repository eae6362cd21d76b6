using System.Diagnostics;
using System.Text.Json.Nodes;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Tracker;

/// <summary>
/// The real npm <c>bittorrent-tracker</c> client (what WebTorrent uses), run by Node from tests/interop, meets
/// other clients through our /announce; their WebRTC data channels (libdatachannel, what the client uses in Node)
/// open and carry data. A client whose connection fails re-announces at once (at most 3 times), as a real client
/// would at its next announce interval.
/// test.sh runs <c>npm ci</c> in tests/interop first.
/// </summary>
public sealed class BittorrentTrackerInteropTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Real_bittorrent_tracker_clients_meet_through_us_and_exchange_data_over_webrtc(int clients)
    {
        await using var server = await TestServer.StartAsync();
        var lines = await RunNodeAsync("tracker-clients.mjs", server.WebSocketUri("/announce").ToString(), clients.ToString(System.Globalization.CultureInfo.InvariantCulture), "90000");
        AssertEveryClientExchangedData(lines, clients);
    }

    /// <summary>
    /// Two tracker nodes sharing a real redis-server; the clients alternate between them (client i on node i mod 2),
    /// so every WebRTC connection of the 2-client case, and some of the 3-client case, is signaled across nodes.
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Real_bittorrent_tracker_clients_on_different_nodes_meet_and_exchange_data_over_webrtc(int clients)
    {
        await using var redis = await Cluster.RedisServer.StartAsync();
        await using var node1 = await TestServer.StartAsync(o => o.Signaling.Redis = redis.ConnectionString);
        await using var node2 = await TestServer.StartAsync(o => o.Signaling.Redis = redis.ConnectionString);
        var urls = $"{node1.WebSocketUri("/announce")},{node2.WebSocketUri("/announce")}";
        var lines = await RunNodeAsync("tracker-clients.mjs", urls, clients.ToString(System.Globalization.CultureInfo.InvariantCulture), "90000");
        AssertEveryClientExchangedData(lines, clients);
        var events = lines.Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Contains(events, e => (string?)e["event"] == "update" && ((string?)e["tracker"])!.StartsWith(node2.WebSocketUri("/announce").ToString(), StringComparison.Ordinal));
    }

    private static void AssertEveryClientExchangedData(List<string> lines, int clients)
    {
        var events = lines.Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Contains(events, e => (string?)e["event"] == "done");
        // Every client saw the swarm counts, opened a WebRTC connection, and received a message through it.
        for (var i = 0; i < clients; i++)
        {
            var name = $"client{i}";
            Assert.Contains(events, e => (string?)e["event"] == "update" && (string?)e["client"] == name);
            Assert.Contains(events, e => (string?)e["event"] == "connect" && (string?)e["client"] == name);
            Assert.Contains(events, e => (string?)e["event"] == "data" && (string?)e["client"] == name && ((string?)e["text"])!.StartsWith("hello from client", StringComparison.Ordinal));
        }
    }

    /// <summary>Runs a script of tests/interop with Node and returns its stdout lines; fails with its output when it fails.</summary>
    internal static async Task<List<string>> RunNodeAsync(string script, params string[] args)
    {
        var dir = Path.Combine(RepositoryRoot.Path, "tests", "interop");
        Assert.True(Directory.Exists(Path.Combine(dir, "node_modules")), "tests/interop/node_modules is missing: run `npm ci` in tests/interop (test.sh does)");
        var start = new ProcessStartInfo("node") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(guard.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var output = await stdout;
        var errors = await stderr;
        Assert.True(process.ExitCode == 0, $"node {script} exited with {process.ExitCode}\nstdout:\n{output}\nstderr:\n{errors}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
    }
}
