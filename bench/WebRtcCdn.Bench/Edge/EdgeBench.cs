using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Core.Scheduling;
using WebRtcCdn.Rtc.PeerConnection;
using WebRtcCdn.Server.Edge;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Bench.Edge;

/// <summary>
/// The edge seeder with native peers (our RTC stack through POST /rtc/offer, loopback, one process): connections
/// accepted per second, memory per connected idle peer, serving throughput to 1 and 8 native fetchers.
/// Both ends run in this process, so memory and CPU figures include the client side (upper bounds for the edge).
/// </summary>
public sealed class EdgeBench : IBenchSuite
{
    private const string Token = "edge-bench-publish-token-0123456789";

    public string Name => "edge";

    public string Description => "edge seeder: connections/s, memory per idle peer, throughput to native fetchers";

    public async Task<int> RunAsync(string[] args)
    {
        var sizeMiB = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 32;
        var dir = Path.Combine(Path.GetTempPath(), "webrtc-cdn-edge-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            await using var server = await TestServer.StartAsync(o =>
            {
                o.Content.StorePath = Path.Combine(dir, "store");
                o.Content.PublishToken = Token;
                o.Content.MemoryCacheSize = 512L << 20;
                o.Edge.Enabled = true;
                o.Edge.BindAddress = "127.0.0.1";
            });
            var content = new byte[sizeMiB << 20];
            new Random(1).NextBytes(content);
            using var http = server.CreateClient();
            http.Timeout = TimeSpan.FromMinutes(5);
            using var publish = new HttpRequestMessage(HttpMethod.Post, "/content?name=bench.bin") { Content = new ByteArrayContent(content) };
            publish.Headers.Authorization = new("Bearer", Token);
            using var published = await http.SendAsync(publish);
            published.EnsureSuccessStatusCode();
            using var json = JsonDocument.Parse(await published.Content.ReadAsStringAsync());
            if (!ContentId.TryParse(json.RootElement.GetProperty("id").GetString(), out var id))
            {
                throw new InvalidOperationException("publish returned no content id");
            }
            var edge = server.Services.GetRequiredService<EdgeSeeder>();
            var manifest = await Downloader.FetchManifestAsync(http, server.BaseUri, id, CancellationToken.None);

            if (args.Contains("breakdown"))
            {
                await BreakdownAsync(http, server.BaseUri, manifest, edge);
                return 0;
            }

            // Connections accepted per second: sequential connects until the cdn channel's HELLO arrived.
            await ConnectIdleAsync(http, server.BaseUri, manifest, 3); // warm-up (JIT, certificate)
            const int Connects = 40;
            var sw = Stopwatch.StartNew();
            var idle = await ConnectIdleAsync(http, server.BaseUri, manifest, Connects);
            sw.Stop();
            Console.WriteLine($"connections accepted: {Connects} sequential in {sw.Elapsed.TotalSeconds:0.00} s = {Connects / sw.Elapsed.TotalSeconds:0.0}/s (offer, answer, ICE, DTLS, SCTP, DCEP, HELLO)");
            await CloseAsync(idle);

            // Memory per connected idle peer (client and edge side both in this process).
            var before = Settle();
            const int Idle = 50;
            idle = await ConnectIdleAsync(http, server.BaseUri, manifest, Idle);
            var after = Settle();
            Console.WriteLine($"memory per idle connected peer (edge + native client, one process): {(after - before) / Idle / 1024.0:0.0} KiB over {Idle} peers; edge connections {edge.Connections}");
            await CloseAsync(idle);

            foreach (var fetchers in new[] { 1, 8 })
            {
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                sw.Restart();
                var runs = Enumerable.Range(0, fetchers).Select(i => FetchAsync(http, server.BaseUri, id, Path.Combine(dir, $"f{fetchers}-{i}.bin"))).ToArray();
                var results = await Task.WhenAll(runs);
                sw.Stop();
                var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpu;
                var mb = results.Sum(r => r.BytesFromPeers) / 1e6;
                Console.WriteLine($"{fetchers} native fetcher(s) x {sizeMiB} MiB over data channels: {mb / sw.Elapsed.TotalSeconds:0.0} MB/s total, {cpuUsed.TotalMilliseconds / mb:0.00} ms CPU per MB (both ends), http bytes {results.Sum(r => r.BytesFromHttp)}");
                foreach (var file in Directory.GetFiles(dir, $"f{fetchers}-*"))
                {
                    File.Delete(file);
                }
            }

            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task BreakdownAsync(HttpClient http, Uri server, Manifest manifest, EdgeSeeder edge)
    {
        await CloseAsync(await ConnectIdleAsync(http, server, manifest, 3));
        const int N = 20;
        Settle();
        var before = RetainedObjects.Snapshot(edge);
        var idle = await ConnectIdleAsync(http, server, manifest, N);
        Settle();
        var after = RetainedObjects.Snapshot(edge);
        var diff = RetainedObjects.Difference(before, after);
        Console.WriteLine($"edge side, per peer: {diff.Sum(d => d.Bytes) / N / 1024.0:0.0} KiB (estimated from {N} peers)");
        foreach (var (type, count, bytes) in diff.Take(45))
        {
            Console.WriteLine($"  {bytes / N,9} B  {count / (double)N,6:0.0}x  {type}");
        }

        foreach (var (array, count) in RetainedObjects.LargeArrays(before, after, 512))
        {
            Console.WriteLine($"  {count / (double)N,6:0.0}x {array}");
        }

        var clientSnap = RetainedObjects.Snapshot(idle);
        var clientDiff = RetainedObjects.Difference(after, clientSnap);
        Console.WriteLine($"client side, per peer: {clientDiff.Sum(d => d.Bytes) / N / 1024.0:0.0} KiB");
        foreach (var (type, count, bytes) in clientDiff.Take(30))
        {
            Console.WriteLine($"  {bytes / N,9} B  {count / (double)N,6:0.0}x  {type}");
        }

        await CloseAsync(idle);
    }

    private static RtcConfiguration Loopback => new() { BindAddress = IPAddress.Loopback };

    private static long Settle()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static async Task<List<(EdgeOfferClient Client, PeerSession Session)>> ConnectIdleAsync(HttpClient http, Uri server, Manifest manifest, int count)
    {
        var list = new List<(EdgeOfferClient, PeerSession)>();
        for (var i = 0; i < count; i++)
        {
            var client = await EdgeOfferClient.ConnectAsync(http, server, manifest.Id, null, Loopback, CancellationToken.None);
            var session = new PeerSession(new RtcDataChannelPeerChannel(client.Channel), manifest, new NothingHeld());
            _ = session.StartAsync();
            await session.Ready;
            list.Add((client, session));
        }

        return list;
    }

    private static async Task CloseAsync(List<(EdgeOfferClient Client, PeerSession Session)> peers)
    {
        foreach (var (client, session) in peers)
        {
            await session.DisposeAsync();
            await client.DisposeAsync();
        }
    }

    private static async Task<DownloadProgress> FetchAsync(HttpClient http, Uri server, ContentId id, string path)
    {
        await using var downloader = await Downloader.OpenAsync(http, new DownloaderOptions { Origin = server, ContentId = id, OutputPath = path, DisableHttpChunks = true });
        await using var client = await EdgeOfferClient.ConnectAsync(http, server, id, null, Loopback, CancellationToken.None);
        var session = new PeerSession(new RtcDataChannelPeerChannel(client.Channel), downloader.Manifest, downloader.ChunkSource);
        _ = session.StartAsync();
        await session.Ready;
        downloader.AddPeer(session);
        return await downloader.RunAsync();
    }

    private sealed class NothingHeld : IChunkSource
    {
        public bool Has(int chunkIndex) => false;

        public ValueTask<ReadOnlyMemory<byte>?> GetAsync(int chunkIndex, CancellationToken cancellationToken) => ValueTask.FromResult<ReadOnlyMemory<byte>?>(null);
    }
}
