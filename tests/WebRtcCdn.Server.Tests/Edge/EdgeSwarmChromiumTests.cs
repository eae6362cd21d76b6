using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using WebRtcCdn.Server.Edge;
using WebRtcCdn.Server.Tests.Swarm;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Edge;

/// <summary>
/// Browsers, the edge and native processes in ONE swarm through signaling: Chromium viewers running the SDK, the
/// server's edge (role edge), and the real `webrtc-cdn` executable (fetch as a native peer, seed).
/// </summary>
[Collection(SwarmCollection.Name)]
public sealed class EdgeSwarmChromiumTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(150);

    private static ExternalProcess Cli(params string[] args) =>
        ExternalProcess.Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "webrtc-cdn.dll"), .. args]);

    /// <summary>
    /// With the origin's chunk path blocked, a viewer whose peers are slow to connect (a loaded 2-core machine) would spend
    /// its origin attempts during the start-up grace and fail: the grace lasts until the candidates said HELLO instead.
    /// </summary>
    private static readonly object PatientViewer = new { tuning = new { graceMs = 60_000, seederGraceMs = 60_000 } };

    private static void EnableEdge(Core.Configuration.WebRtcCdnOptions o)
    {
        o.Edge.Enabled = true;
        o.Edge.BindAddress = "127.0.0.1";
    }

    [Fact]
    public async Task Viewers_get_a_file_only_the_edge_holds_entirely_over_data_channels_through_signaling()
    {
        const int size = (6 << 20) + 12345;
        await using var swarm = await SwarmHarness.StartAsync(size, EnableEdge);
        await EdgeSwarmTests.WaitForEdgeAsync(swarm.Server, swarm.ContentId);
        var viewers = new List<SwarmHarness.Viewer>();
        for (var i = 0; i < 3; i++)
        {
            // The origin's chunk path is disabled for the viewers: only peers (the edge first) can deliver.
            viewers.Add(await swarm.StartViewerAsync(PatientViewer, blockOriginChunks: true));
        }

        foreach (var v in viewers)
        {
            var r = await v.ResultAsync();
            Assert.True(swarm.ContentSha256 == r.Hash, $"viewer {v.Index} got other bytes: {r}\n{v.Log}");
            Assert.Equal(0, r.FromOrigin);
            Assert.Equal(size, r.FromPeers);
        }

        // The SDK never POSTs /rtc/offer: every edge connection was made through signaling.
        Assert.True(swarm.Server.Services.GetRequiredService<EdgeSeeder>().Accepted >= 1, "no viewer connected to the edge");
    }

    [Fact]
    public async Task Edge_three_Chromium_viewers_and_a_native_fetch_process_all_finish_byte_exact()
    {
        const int size = 6 << 20;
        await using var swarm = await SwarmHarness.StartAsync(size, EnableEdge);
        await EdgeSwarmTests.WaitForEdgeAsync(swarm.Server, swarm.ContentId);
        var viewers = new List<SwarmHarness.Viewer>();
        for (var i = 0; i < 2; i++)
        {
            viewers.Add(await swarm.StartViewerAsync());
        }

        // The native fetch starts while the browsers are still mid-download: its first HELLO may be a half-stocked viewer's,
        // yet it keeps chunks off HTTP until the edge (which holds everything) and its other candidates said HELLO, so it
        // must get every byte over data channels.
        var output = Path.Combine(Path.GetTempPath(), "webrtc-cdn-mixed-" + Guid.NewGuid().ToString("N") + ".bin");
        try
        {
            await using var fetch = Cli("fetch", swarm.ContentId, "--server", swarm.Server.BaseUri.ToString(), "-o", output, "-q");
            viewers.Add(await swarm.StartViewerAsync());
            Assert.True(await fetch.WaitForExitAsync(Timeout) == 0, fetch.StandardError);
            Assert.Equal(swarm.Content, await File.ReadAllBytesAsync(output));
            Assert.Contains($"p2p {size}  http 0", fetch.StandardOutput, StringComparison.Ordinal);
            foreach (var v in viewers)
            {
                var r = await v.ResultAsync();
                Assert.True(swarm.ContentSha256 == r.Hash, $"viewer {v.Index} got other bytes: {r}\n{v.Log}");
            }
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Fact]
    public async Task A_seed_process_serves_a_Chromium_viewer_every_byte()
    {
        await using var swarm = await SwarmHarness.StartAsync(1 << 16);
        var content = RandomNumberGenerator.GetBytes((3 << 20) + 777);
        var file = Path.Combine(Path.GetTempPath(), "webrtc-cdn-seed-" + Guid.NewGuid().ToString("N") + ".bin");
        await File.WriteAllBytesAsync(file, content);
        try
        {
            await using var seed = Cli("seed", file, "--server", swarm.Server.BaseUri.ToString(), "--publish-token", SwarmHarness.PublishToken);
            var line = await seed.WaitForLineAsync(l => l.StartsWith("seeding ", StringComparison.Ordinal) || l.StartsWith("webrtc-cdn", StringComparison.Ordinal), Timeout);
            Assert.StartsWith("seeding ", line, StringComparison.Ordinal);
            var id = line.Split(' ')[1];
            var viewer = await swarm.StartViewerAsync(PatientViewer, blockOriginChunks: true, contentId: id);
            var r = await viewer.ResultAsync();
            Assert.True(Convert.ToHexStringLower(SHA256.HashData(content)) == r.Hash, $"the viewer got other bytes: {r}\n{viewer.Log}\n{seed.StandardError}");
            Assert.Equal(content.Length, r.FromPeers);
            Assert.Equal(0, r.FromOrigin);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
