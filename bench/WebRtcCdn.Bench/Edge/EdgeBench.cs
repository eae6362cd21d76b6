using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Scheduling;
using WebRtcCdn.Server.Edge;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Bench.Edge;

/// <summary>
/// The edge seeder (POST /rtc/offer, one UDP port) measured from its own process: the server runs here, the native
/// peers run in a child process (this same program, <see cref="EdgeBenchClients"/>) so that memory and CPU figures
/// are the edge's alone, and Chromium viewers run in Debian's headless Chromium. Figures: connections accepted per
/// second, memory per connected idle peer (edge side; the child reports the client side), throughput to 1, 4 and 8
/// Chromium viewers and to 1 and 8 native fetchers (total MB/s, server CPU per MB, Chromium CPU per MB).
/// Usage: <c>edge [size-MiB=32] [idle=N (100)] [breakdown] [only-memory] [rounds] [no-chromium]</c>: <c>breakdown</c> lists
/// what the idle peers keep reachable from the edge by type (<see cref="RetainedObjects"/>), <c>rounds</c> repeats the
/// connect/leave memory round 5 times (a leak shows as a growing "after they left").
/// </summary>
public sealed class EdgeBench : IBenchSuite
{
    private const string Token = "edge-bench-publish-token-0123456789";

    public string Name => "edge";

    public string Description => "edge seeder: connections/s, memory per idle peer, throughput to Chromium viewers and native fetchers";

    public async Task<int> RunAsync(string[] args)
    {
        if (args.Length > 0 && args[0] == EdgeBenchClients.ChildFlag)
        {
            return await EdgeBenchClients.RunChildAsync(args[1..]).ConfigureAwait(false);
        }

        var sizeMiB = args.Length > 0 && int.TryParse(args[0], CultureInfo.InvariantCulture, out var s) ? s : 32;
        var idlePeers = args.FirstOrDefault(a => a.StartsWith("idle=", StringComparison.Ordinal)) is { } i ? int.Parse(i[5..], CultureInfo.InvariantCulture) : 100;
        var dir = Path.Combine(Path.GetTempPath(), "webrtc-cdn-edge-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        Console.WriteLine(Invariant($"load average: {File.ReadAllText("/proc/loadavg").Trim()}, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC"));
        try
        {
            await using var server = await TestServer.StartAsync(
                o =>
                {
                    o.Content.StorePath = Path.Combine(dir, "store");
                    o.Content.PublishToken = Token;
                    o.Content.MemoryCacheSize = 512L << 20;
                    o.Edge.Enabled = true;
                    o.Edge.BindAddress = "127.0.0.1";
                },
                configureApp: TestPages.Map).ConfigureAwait(false);
            var content = new byte[sizeMiB << 20];
            new Random(1).NextBytes(content);
            var sha = Convert.ToHexStringLower(SHA256.HashData(content));
            using var http = server.CreateClient();
            http.Timeout = TimeSpan.FromMinutes(5);
            using var publish = new HttpRequestMessage(HttpMethod.Post, "/content?name=bench.bin") { Content = new ByteArrayContent(content) };
            publish.Headers.Authorization = new("Bearer", Token);
            using var published = await http.SendAsync(publish).ConfigureAwait(false);
            published.EnsureSuccessStatusCode();
            using var json = JsonDocument.Parse(await published.Content.ReadAsStringAsync().ConfigureAwait(false));
            if (!ContentId.TryParse(json.RootElement.GetProperty("id").GetString(), out var id))
            {
                throw new InvalidOperationException("publish returned no content id");
            }

            var edge = server.Services.GetRequiredService<EdgeSeeder>();
            var manifest = await Downloader.FetchManifestAsync(http, server.BaseUri, id, CancellationToken.None).ConfigureAwait(false);
            var clients = new EdgeBenchClients(server.BaseUri, id, dir);
            Console.WriteLine(Invariant($"content: {sizeMiB} MiB in {manifest.ChunkCount} chunks; edge UDP {edge.LocalEndPoint}"));

            // Warm-up (JIT on both sides, the certificate, the memory tier).
            await clients.RunAsync("connect", 5, 1).ConfigureAwait(false);
            await WaitEmptyAsync(edge).ConfigureAwait(false);

            await ConnectionsPerSecondAsync(clients, edge).ConfigureAwait(false);
            // Twice: the first round also fills the process's buffer pools and caches (they stay after the peers left);
            // the second round's figure is what one more connected idle peer costs.
            await IdleMemoryAsync(clients, edge, idlePeers, false, 1).ConfigureAwait(false);
            await IdleMemoryAsync(clients, edge, idlePeers, args.Contains("breakdown"), 2).ConfigureAwait(false);
            for (var round = 3; args.Contains("rounds") && round <= 5; round++)
            {
                await IdleMemoryAsync(clients, edge, idlePeers, false, round).ConfigureAwait(false);
            }

            if (args.Contains("only-memory"))
            {
                return 0;
            }

            foreach (var fetchers in new[] { 1, 8 })
            {
                await NativeThroughputAsync(clients, edge, fetchers, sizeMiB).ConfigureAwait(false);
            }

            if (!args.Contains("no-chromium"))
            {
                await ChromiumThroughputAsync(server.BaseUri, id, manifest, content.Length, sha, edge).ConfigureAwait(false);
            }

            Console.WriteLine(Invariant($"load average after: {File.ReadAllText("/proc/loadavg").Trim()}"));
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task ConnectionsPerSecondAsync(EdgeBenchClients clients, EdgeSeeder edge)
    {
        foreach (var (count, concurrency) in new[] { (60, 1), (120, 8) })
        {
            var cpu = ProcessCpu.Self();
            var before = edge.Accepted;
            var child = await clients.RunAsync("connect", count, concurrency).ConfigureAwait(false);
            var serverCpu = ProcessCpu.Self() - cpu;
            var seconds = double.Parse(child["seconds"], CultureInfo.InvariantCulture);
            Console.WriteLine(Invariant(
                $"connections accepted, {concurrency} at a time: {count} in {seconds:0.00} s = {count / seconds:0.0}/s (offer -> answer -> ICE-lite, DTLS, SCTP, DCEP -> HELLO both ways); server CPU {serverCpu.TotalMilliseconds / count:0.0} ms per connection (incl. its teardown); edge accepted {edge.Accepted - before}"));
            await WaitEmptyAsync(edge).ConfigureAwait(false);
        }
    }

    private static async Task IdleMemoryAsync(EdgeBenchClients clients, EdgeSeeder edge, int peers, bool breakdown, int round)
    {
        var baseline = Settle();
        var rssBefore = Rss();
        var snapshot = breakdown ? RetainedObjects.Snapshot(edge) : null;
        await using var child = await clients.StartIdleAsync(peers).ConfigureAwait(false);
        var ready = await child.ReadResultAsync().ConfigureAwait(false);
        await WaitForAsync(() => edge.Usage.Sessions == peers).ConfigureAwait(false);
        var connected = Settle();
        var rss = Rss();
        var perPeer = (connected - baseline) / (double)peers;
        Console.WriteLine(Invariant(
            $"round {round}: memory per connected idle peer, edge side: {perPeer / 1024:0.0} KiB of GC heap ({peers} peers, GC.GetTotalMemory after full collections; RSS delta {(rss - rssBefore) / (double)peers / 1024:0.0} KiB per peer); client side (child process, our RtcPeerConnection with its own socket + PeerSession): {double.Parse(ready["client-bytes-per-peer"], CultureInfo.InvariantCulture) / 1024:0.0} KiB"));
        if (snapshot is not null)
        {
            var diff = RetainedObjects.Difference(snapshot, RetainedObjects.Snapshot(edge));
            Console.WriteLine(Invariant($"  reachable from the edge, estimated from fields: {diff.Sum(d => d.Bytes) / (double)peers / 1024:0.0} KiB per peer; largest types:"));
            foreach (var (type, count, bytes) in diff.Take(15))
            {
                Console.WriteLine(Invariant($"    {bytes / peers,7} B  {count / (double)peers,5:0.0}x  {type}"));
            }
        }

        await child.StopAsync().ConfigureAwait(false);
        await WaitEmptyAsync(edge).ConfigureAwait(false);
        var after = Settle();
        Console.WriteLine(Invariant($"after they left: edge usage {edge.Usage}; GC heap {(after - baseline) / 1024.0:+0;-0} KiB against the baseline"));
        if (snapshot is not null)
        {
            var left = RetainedObjects.Difference(snapshot, RetainedObjects.Snapshot(edge));
            Console.WriteLine(Invariant($"  still reachable from the edge after they left: {left.Sum(d => d.Bytes) / 1024.0:0.0} KiB"));
            foreach (var (type, count, bytes) in left.Take(10))
            {
                Console.WriteLine(Invariant($"    {bytes,9} B  {count,5}x  {type}"));
            }
        }
    }

    private static async Task NativeThroughputAsync(EdgeBenchClients clients, EdgeSeeder edge, int fetchers, int sizeMiB)
    {
        var cpu = ProcessCpu.Self();
        var result = await clients.RunAsync("fetch", fetchers, 0).ConfigureAwait(false);
        var serverCpu = ProcessCpu.Self() - cpu;
        var mb = double.Parse(result["bytes"], CultureInfo.InvariantCulture) / 1e6;
        var seconds = double.Parse(result["seconds"], CultureInfo.InvariantCulture);
        Console.WriteLine(Invariant(
            $"{fetchers} native fetcher(s) x {sizeMiB} MiB (child process, Downloader over /rtc/offer, HTTP chunks off): {mb / seconds:0.0} MB/s total; server CPU {serverCpu.TotalMilliseconds / mb:0.00} ms per MB; fetchers' CPU {double.Parse(result["cpu-ms"], CultureInfo.InvariantCulture) / mb:0.00} ms per MB; http bytes {result["http-bytes"]}"));
        await WaitEmptyAsync(edge).ConfigureAwait(false);
    }

    private static async Task ChromiumThroughputAsync(Uri server, ContentId id, Manifest manifest, int total, string sha, EdgeSeeder edge)
    {
        var pages = new List<BrowserPage>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                pages.Add(await Chromium.OpenAsync(new Uri(server, "/test/rtc-peer.html")).ConfigureAwait(false));
            }

            await RunViewersAsync(pages.Take(1).ToList(), id, manifest, total, sha).ConfigureAwait(false); // warm-up
            await WaitEmptyAsync(edge).ConfigureAwait(false);
            foreach (var viewers in new[] { 1, 4, 8 })
            {
                var cpu = ProcessCpu.Self();
                var chromium = ProcessCpu.Descendants();
                var sw = Stopwatch.StartNew();
                var ms = await RunViewersAsync(pages.Take(viewers).ToList(), id, manifest, total, sha).ConfigureAwait(false);
                sw.Stop();
                var serverCpu = ProcessCpu.Self() - cpu;
                var chromiumCpu = ProcessCpu.Descendants() - chromium;
                var mb = viewers * (double)total / 1e6;
                Console.WriteLine(Invariant(
                    $"{viewers} Chromium viewer(s) x {total >> 20} MiB: {mb / sw.Elapsed.TotalSeconds:0.0} MB/s total (wall {sw.Elapsed.TotalSeconds:0.00} s incl. offer/answer; per viewer channel-open to last byte {string.Join(", ", ms.Select(m => (m / 1000).ToString("0.00", CultureInfo.InvariantCulture)))} s); server CPU {serverCpu.TotalMilliseconds / mb:0.00} ms per MB (this process: edge + Playwright client); Chromium CPU {chromiumCpu.TotalMilliseconds / mb:0.00} ms per MB; sha256 ok"));
                await WaitEmptyAsync(edge).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var page in pages)
            {
                await page.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<double[]> RunViewersAsync(List<BrowserPage> pages, ContentId id, Manifest manifest, int total, string sha)
    {
        var runs = pages.Select((p, i) => p.Page.EvaluateAsync<JsonElement>(
            EdgeViewerScript.Fetch,
            new { id = id.ToString(), count = manifest.ChunkCount, size = manifest.ChunkSize, total, pipeline = 4, label = "v" + i })).ToList();
        var results = await Task.WhenAll(runs).ConfigureAwait(false);
        foreach (var r in results)
        {
            if (r.GetProperty("sha").GetString() != sha)
            {
                throw new InvalidOperationException("a Chromium viewer received different bytes");
            }
        }

        return results.Select(r => r.GetProperty("ms").GetDouble()).ToArray();
    }

    private static long Rss()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    internal static long Settle()
    {
        // Blocking, compacting full collections (free space left by a sweep would otherwise count as in use).
        for (var i = 0; i < 3; i++)
        {
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        var info = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        return info.HeapSizeBytes - info.FragmentedBytes;
    }

    /// <summary>Every peer gone and everything released (the edge's own accounting); a bench may poll.</summary>
    private static Task WaitEmptyAsync(EdgeSeeder edge) => WaitForAsync(() => edge.Usage.IsEmpty);

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(120))
            {
                throw new TimeoutException("the edge did not reach the expected state in 120 s");
            }

            await Task.Delay(20).ConfigureAwait(false);
        }
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
