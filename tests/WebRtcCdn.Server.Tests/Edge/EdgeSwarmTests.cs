using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Scheduling;
using WebRtcCdn.Core.Signaling;
using WebRtcCdn.Core.Signaling.Client;
using WebRtcCdn.Core.Swarming;
using WebRtcCdn.Server.Edge;
using WebRtcCdn.Server.Origin;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Edge;

/// <summary>
/// The edge as a signaling swarm member (role edge), with native peers (our RTC stack, full ICE) on the other side:
/// found in join answers, answering offers relayed by signaling, limits shared with POST /rtc/offer, pull-through.
/// </summary>
public sealed class EdgeSwarmTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    /// <summary>Waits until the edge is in the content's swarm (it joins when content is stored).</summary>
    internal static async Task WaitForEdgeAsync(TestServer server, string contentId)
    {
        var membership = server.Services.GetRequiredService<EdgeSwarmMembership>();
        var joined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        membership.SwarmJoined += swarm =>
        {
            if (swarm == contentId)
            {
                joined.TrySetResult();
            }
        };
        if (membership.Swarms.Contains(contentId))
        {
            joined.TrySetResult();
        }

        await joined.Task.WaitAsync(Guard);
    }

    private static async Task<(DownloadProgress Result, byte[] Bytes)> FetchOverSignalingAsync(TestServer server, ContentId id, string dir, string name)
    {
        using var http = server.CreateClient();
        var output = Path.Combine(dir, name);
        await using var downloader = await Downloader.OpenAsync(http, new DownloaderOptions { Origin = server.BaseUri, ContentId = id, OutputPath = output, DisableHttpChunks = true });
        await using var signaling = new NativeSignalingClient(server.BaseUri);
        await signaling.ConnectAsync().WaitAsync(Guard);
        await using var swarm = new NativeSwarm(signaling, downloader.Manifest, downloader.ChunkSource);
        swarm.SessionReady += (session, _) => downloader.AddPeer(session);
        var candidates = await swarm.StartAsync().WaitAsync(Guard);
        Assert.Contains(candidates, c => c.Role == PeerRole.Edge);
        var result = await downloader.RunAsync().WaitAsync(Guard);
        return (result, await File.ReadAllBytesAsync(output));
    }

    [Fact]
    public async Task A_native_peer_finds_the_edge_in_its_join_answer_and_downloads_everything_from_it_over_signaling()
    {
        await using var edge = await EdgeFixture.StartAsync(size: (4 * EdgeFixture.ChunkSize) + 99, tokenSecret: "0123456789abcdef0123456789abcdef");
        await WaitForEdgeAsync(edge.Server, edge.Id.ToString());
        var dir = Directory.CreateTempSubdirectory("webrtc-cdn-edge-swarm-").FullName;
        try
        {
            using var http = edge.Server.CreateClient();
            var token = JoinToken.Create("0123456789abcdef0123456789abcdef", edge.Id.ToString(), DateTimeOffset.UtcNow.AddMinutes(5));
            var output = Path.Combine(dir, "out.bin");
            await using var downloader = await Downloader.OpenAsync(http, new DownloaderOptions { Origin = edge.Server.BaseUri, ContentId = edge.Id, OutputPath = output, DisableHttpChunks = true });
            await using var signaling = new NativeSignalingClient(edge.Server.BaseUri);
            await signaling.ConnectAsync().WaitAsync(Guard);
            await using var swarm = new NativeSwarm(signaling, downloader.Manifest, downloader.ChunkSource, new NativeSwarmOptions { Token = token });
            swarm.SessionReady += (session, _) => downloader.AddPeer(session);
            var candidate = Assert.Single(await swarm.StartAsync().WaitAsync(Guard));
            Assert.Equal(PeerRole.Edge, candidate.Role);
            Assert.Equal(edge.Server.Services.GetRequiredService<EdgeSwarmMembership>().PeerId, candidate.PeerId);
            Assert.Equal(5, candidate.Chunks);

            var result = await downloader.RunAsync().WaitAsync(Guard);
            Assert.Equal(edge.Content.Length, result.BytesFromPeers);
            Assert.Equal(edge.Content, await File.ReadAllBytesAsync(output));
            Assert.Equal(1, edge.Server.Services.GetRequiredService<EdgeSeeder>().Connections);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Edge_max_peers_counts_signaling_peers_too()
    {
        await using var edge = await EdgeFixture.StartAsync(size: 3 * EdgeFixture.ChunkSize, configure: o => o.Edge.MaxPeers = 1);
        await WaitForEdgeAsync(edge.Server, edge.Id.ToString());
        using var http = edge.Server.CreateClient();
        var manifest = await Downloader.FetchManifestAsync(http, edge.Server.BaseUri, edge.Id, CancellationToken.None);

        await using var first = new NativeSignalingClient(edge.Server.BaseUri);
        await first.ConnectAsync().WaitAsync(Guard);
        await using var firstSwarm = new NativeSwarm(first, manifest, new EmptySource());
        var firstReady = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        firstSwarm.SessionReady += (_, _) => firstReady.TrySetResult();
        await firstSwarm.StartAsync().WaitAsync(Guard);
        await firstReady.Task.WaitAsync(Guard);

        // The edge is full: the second peer's offer is refused (no answer) and its connection attempt times out.
        await using var second = new NativeSignalingClient(edge.Server.BaseUri);
        await second.ConnectAsync().WaitAsync(Guard);
        await using var secondSwarm = new NativeSwarm(second, manifest, new EmptySource(), new NativeSwarmOptions { ConnectTimeout = TimeSpan.FromSeconds(3) });
        var edgeId = edge.Server.Services.GetRequiredService<EdgeSwarmMembership>().PeerId!;
        var gaveUp = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var connectedToEdge = false;
        secondSwarm.SessionReady += (_, remote) => connectedToEdge |= remote == edgeId;
        secondSwarm.Problem += p =>
        {
            if (p.Contains(edgeId, StringComparison.Ordinal))
            {
                gaveUp.TrySetResult(p);
            }
        };
        Assert.Contains(await secondSwarm.StartAsync().WaitAsync(Guard), c => c.PeerId == edgeId);
        Assert.Contains("connect timeout", await gaveUp.Task.WaitAsync(Guard), StringComparison.Ordinal);
        Assert.False(connectedToEdge);
        Assert.Equal(1, edge.Server.Services.GetRequiredService<EdgeSeeder>().Connections);
    }

    [Fact]
    public async Task A_chunk_the_edge_lost_is_pulled_through_from_upstream_verified_and_served()
    {
        var data = RandomNumberGenerator.GetBytes(100_000);
        var upstreamRequests = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var upstream = builder.Build();
        upstream.MapGet("/media/clip.bin", () =>
        {
            Interlocked.Increment(ref upstreamRequests);
            return Results.Bytes(data, "application/octet-stream");
        });
        await upstream.StartAsync();
        var dir = Directory.CreateTempSubdirectory("webrtc-cdn-edge-pull-").FullName;
        try
        {
            await using var server = await TestServer.StartAsync(o =>
            {
                o.Content.StorePath = Path.Combine(dir, "store");
                o.Content.Upstream = new Uri(new Uri(upstream.Urls.First()), "/media/").AbsoluteUri;
                o.Content.MemoryCacheSize = 0; // reads go through the disk tier's verification
                o.P2P.ChunkSize = 16 << 10;
                o.Edge.Enabled = true;
                o.Edge.BindAddress = "127.0.0.1";
            });
            using var http = server.CreateClient();
            using var first = await http.GetAsync("/pull/clip.bin");
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            Assert.True(ContentId.TryParse(first.Headers.GetValues("X-Content-Id").Single(), out var id));
            await WaitForEdgeAsync(server, id.ToString());
            var manifest = server.Services.GetRequiredService<OriginContent>().GetManifest(id)!;
            var hash = manifest.Chunks[2].ToHex();
            var path = Path.Combine(dir, "store", "chunks", hash[..2], hash);
            var bytes = await File.ReadAllBytesAsync(path);
            bytes[^1] ^= 0x40; // the stored copy went bad: the edge must not serve it, and must get it again
            await File.WriteAllBytesAsync(path, bytes);

            var (result, fetched) = await FetchOverSignalingAsync(server, id, dir, "out.bin");
            Assert.Equal(data, fetched);
            Assert.Equal(data.Length, result.BytesFromPeers);
            Assert.Equal(2, upstreamRequests);
        }
        finally
        {
            await upstream.StopAsync();
            Directory.Delete(dir, recursive: true);
        }
    }

    private sealed class EmptySource : WebRtcCdn.Core.Peers.IChunkSource
    {
        public bool Has(int chunkIndex) => false;

        public ValueTask<ReadOnlyMemory<byte>?> GetAsync(int chunkIndex, CancellationToken cancellationToken) => ValueTask.FromResult<ReadOnlyMemory<byte>?>(null);
    }
}
