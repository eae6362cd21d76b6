using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using WebRtcCdn.Server.Edge;
using WebRtcCdn.Server.Origin;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Bench.Swarm;

/// <summary>
/// N Chromium viewers (one browser, one context each, staggered starts) fetch one published file through the
/// browser SDK; the same N fetch it with plain HTTP in the same session. Reports origin egress / content size
/// (the server's own counter) and the slowest viewer's completion time, with the origin uncapped and capped.
/// Usage: swarm [--viewers 4,8,12] [--mib 32] [--stagger-ms 1000] [--cap-mbit 100] [--only uncapped|capped] [--edge] [--verbose] [--profile K] [--modes p2p|http|both]
/// <c>--profile K</c> samples viewer K's JavaScript (CDP Profiler) during the P2P run and prints its top functions by self time.
/// <c>--edge</c> runs the server's edge seeder too (off by default in the server, as in production until an operator
/// opens its UDP port): viewers then find it in their join answers and ask it for chunks no viewer holds. What it sends
/// over data channels is server egress as much as the origin's HTTP bodies: it has its own column and counts in the
/// total that is compared with the target (offload is computed on the total).
/// </summary>
public sealed class SwarmBench : IBenchSuite
{
    private const string PublishToken = "swarm-bench-token";

    public string Name => "swarm";

    public string Description => "browser SDK swarm of N Chromium viewers vs plain HTTP: origin egress and slowest completion";

    private static bool Verbose;
    private static int ProfileViewer = -1;

    public async Task<int> RunAsync(string[] args)
    {
        Verbose = args.Contains("--verbose");
        ProfileViewer = int.Parse(Arg(args, "--profile", "-1"), CultureInfo.InvariantCulture);
        var edge = args.Contains("--edge");
        var viewers = Arg(args, "--viewers", "4,8,12").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var mib = int.Parse(Arg(args, "--mib", "32"), CultureInfo.InvariantCulture);
        var stagger = TimeSpan.FromMilliseconds(int.Parse(Arg(args, "--stagger-ms", "1000"), CultureInfo.InvariantCulture));
        var capMbit = int.Parse(Arg(args, "--cap-mbit", "100"), CultureInfo.InvariantCulture);
        var content = RandomNumberGenerator.GetBytes(mib << 20);
        var sha = Convert.ToHexStringLower(SHA256.HashData(content));
        Console.WriteLine($"swarm: {mib} MiB file, viewers staggered {stagger.TotalMilliseconds} ms, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine($"edge seeder: {(edge ? "on" : "off")}");
        Console.WriteLine("| origin | N | mode | origin HTTP egress (copies) | edge data-channel egress (copies) | server egress total (copies) | offload | slowest viewer (s) | all done (s) | CPU Chromium / server (s) | load average before -> after |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        var caps = Arg(args, "--only", "both") switch
        {
            "uncapped" => new long[] { 0 },
            "capped" => new long[] { capMbit * 1_000_000L / 8 },
            _ => new long[] { 0, capMbit * 1_000_000L / 8 },
        };
        // --modes p2p (or http) runs one side only: for A/B runs of SDK bundles, where the HTTP-only figure is known.
        var modes = Arg(args, "--modes", "both") switch
        {
            "p2p" => new[] { true },
            "http" => new[] { false },
            _ => new[] { true, false },
        };
        foreach (var cap in caps)
        {
            foreach (var n in viewers)
            {
                foreach (var p2p in modes)
                {
                    var load = ProcessCpu.LoadAverage();
                    var r = await RunOnceAsync(content, sha, n, stagger, cap, p2p, edge).ConfigureAwait(false);
                    var origin = cap == 0 ? "uncapped" : $"{capMbit} Mbit/s";
                    var copies = (double)r.Egress / content.Length;
                    var edgeCopies = (double)r.EdgeEgress / content.Length;
                    var total = copies + edgeCopies;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {origin} | {n} | {(p2p ? "SDK (P2P)" : "HTTP only")} | {copies:F2} | {(edge ? edgeCopies.ToString("F2", CultureInfo.InvariantCulture) : "off")} | {total:F2} | {100 * (1 - (total / n)):F0}% | {r.Slowest.TotalSeconds:F2} | {r.Wall.TotalSeconds:F1} | {r.BrowserCpu.TotalSeconds:F1} / {r.ServerCpu.TotalSeconds:F1} | {load} -> {ProcessCpu.LoadAverage()} |"));
                }
            }
        }

        return 0;
    }

    private sealed record Run(long Egress, long EdgeEgress, TimeSpan Slowest, TimeSpan Wall, TimeSpan BrowserCpu, TimeSpan ServerCpu);

    private static async Task<Run> RunOnceAsync(byte[] content, string sha, int n, TimeSpan stagger, long cap, bool p2p, bool edge)
    {
        var store = Path.Combine(Path.GetTempPath(), "webrtc-cdn-bench-" + Guid.NewGuid().ToString("N"));
        var throttle = cap > 0 ? new OriginThrottle(cap) : null;
        await using var server = await TestServer.StartAsync(
            o =>
            {
                o.Content.StorePath = store;
                o.Content.PublishToken = PublishToken;
                o.Content.MemoryCacheSize = 256L << 20;
                o.Edge.Enabled = edge;
                o.Edge.BindAddress = "127.0.0.1";
            },
            configureApp: throttle is null ? null : throttle.Map).ConfigureAwait(false);
        var contexts = new List<IBrowserContext>();
        try
        {
            var id = await server.PublishAsync(content, "bench.bin").ConfigureAwait(false);
            var egress = server.Services.GetRequiredService<OriginEgress>();
            var before = egress.BytesServed;
            var edgeSeeder = server.Services.GetRequiredService<EdgeSeeder>();
            var edgeBefore = edgeSeeder.BytesUploaded;
            var pages = new List<IPage>();
            ICDPSession? profiler = null;
            var browserCpu = ProcessCpu.Descendants();
            var threadsBefore = Verbose ? ProcessCpu.DescendantThreads() : null;
            var serverCpu = ProcessCpu.Self();
            var wall = Stopwatch.StartNew();
            for (var i = 0; i < n; i++)
            {
                var context = await Chromium.NewContextAsync().ConfigureAwait(false);
                contexts.Add(context);
                var page = await context.NewPageAsync().ConfigureAwait(false);
                await page.GotoAsync(server.BaseUri.ToString()).ConfigureAwait(false);
                if (p2p && i == ProfileViewer)
                {
                    profiler = await context.NewCDPSessionAsync(page).ConfigureAwait(false);
                    await profiler.SendAsync("Profiler.enable").ConfigureAwait(false);
                    await profiler.SendAsync("Profiler.setSamplingInterval", new Dictionary<string, object> { ["interval"] = 500 }).ConfigureAwait(false);
                    await profiler.SendAsync("Profiler.start").ConfigureAwait(false);
                }

                await page.EvaluateAsync(p2p ? SdkScript : HttpScript, id).ConfigureAwait(false);
                pages.Add(page);
                if (i < n - 1)
                {
                    await Task.Delay(stagger).ConfigureAwait(false); // the staggered start being measured
                }
            }

            var slowest = TimeSpan.Zero;
            foreach (var page in pages)
            {
                var r = await page.EvaluateAsync<JsonElement>("() => window.__run").WaitAsync(TimeSpan.FromMinutes(5)).ConfigureAwait(false);
                if (r.GetProperty("hash").GetString() != sha)
                {
                    throw new InvalidOperationException($"a viewer got other bytes: {r}");
                }

                var ms = TimeSpan.FromMilliseconds(r.GetProperty("ms").GetDouble());
                if (Verbose && r.TryGetProperty("stats", out var st))
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  viewer {pages.IndexOf(page)}: {ms.TotalSeconds:F2} s, from peers {st.GetProperty("bytesFromPeers").GetInt64() >> 20} MiB, from origin {st.GetProperty("bytesFromOrigin").GetInt64() >> 20} MiB, discarded {st.GetProperty("bytesDiscarded").GetInt64() >> 10} KiB, uploaded {st.GetProperty("bytesUploaded").GetInt64() >> 20} MiB, elected {st.GetProperty("electedChunks")}, step-ins {st.GetProperty("stepIns")}, max peers {r.GetProperty("maxPeers")}, diag {r.GetProperty("diag")}"));
                    Console.WriteLine($"    {r.GetProperty("timeline").GetString()}");
                }

                slowest = ms > slowest ? ms : slowest;
            }

            wall.Stop();
            if (profiler is not null)
            {
                PrintProfile(await profiler.SendAsync("Profiler.stop").ConfigureAwait(false));
            }
            if (threadsBefore is not null)
            {
                // Where Chromium's CPU went in this run: the top threads by process type (ticks are 10 ms).
                var after = ProcessCpu.DescendantThreads();
                var top = after.Select(kv => (kv.Key, Ticks: kv.Value - threadsBefore.GetValueOrDefault(kv.Key))).OrderByDescending(x => x.Ticks).Take(14);
                Console.WriteLine("  CPU by process type / thread: " + string.Join(", ", top.Select(x => string.Create(CultureInfo.InvariantCulture, $"{x.Key} {x.Ticks / 100.0:F1} s"))));
            }

            // Viewers stay connected until their contexts close, so the edge's live sessions hold every byte sent.
            return new Run(egress.BytesServed - before, edgeSeeder.BytesUploaded - edgeBefore, slowest, wall.Elapsed, ProcessCpu.Descendants() - browserCpu, ProcessCpu.Self() - serverCpu);
        }
        finally
        {
            foreach (var c in contexts)
            {
                await c.CloseAsync().ConfigureAwait(false);
            }

            if (Directory.Exists(store))
            {
                Directory.Delete(store, recursive: true);
            }
        }
    }

    /// <summary>Top JavaScript functions by self time from a CDP Profiler.stop result.</summary>
    private static void PrintProfile(JsonElement? result)
    {
        if (result is not { } r || !r.TryGetProperty("profile", out var profile))
        {
            return;
        }

        var selfById = new Dictionary<int, string>();
        foreach (var node in profile.GetProperty("nodes").EnumerateArray())
        {
            var frame = node.GetProperty("callFrame");
            var url = frame.GetProperty("url").GetString() ?? "";
            var name = frame.GetProperty("functionName").GetString() is { Length: > 0 } f ? f : "(anonymous)";
            selfById[node.GetProperty("id").GetInt32()] = $"{name} {Path.GetFileName(url)}:{frame.GetProperty("lineNumber").GetInt32() + 1}";
        }

        var samples = profile.GetProperty("samples").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var deltas = profile.GetProperty("timeDeltas").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        var micros = new Dictionary<string, long>();
        for (var i = 0; i < samples.Length; i++)
        {
            // A sample's time is the gap to the next one (deltas are to the previous sample).
            var us = i + 1 < deltas.Length ? deltas[i + 1] : 0;
            var key = selfById.GetValueOrDefault(samples[i], "?");
            micros[key] = micros.GetValueOrDefault(key) + us;
        }

        var total = micros.Values.Sum();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  JS profile (viewer {ProfileViewer}, {total / 1e6:F1} s sampled, self time):"));
        foreach (var (key, us) in micros.OrderByDescending(kv => kv.Value).Take(25))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {us / 1000.0,8:F0} ms  {key}"));
        }
    }

    private const string SdkScript = """
        (id) => {
          window.__run = (async () => {
            const cdn = await WebRtcCdn.connect({ server: location.origin });
            const t0 = performance.now();
            // Timeline for --verbose: every chunk as "{seconds}p{peers}" (from a peer) or "{seconds}o{index}:{reason}{peers}" (origin), with the connected peer count.
            const tl = [];
            const peers = new Set();
            let maxPeers = 0;
            cdn.addEventListener("chunk", (e) => tl.push(((performance.now() - t0) / 1000).toFixed(1) + (e.detail.source === "origin" ? "o" + e.detail.index + ":" + e.detail.reason : "p") + peers.size));
            cdn.addEventListener("peer", (e) => { if (e.detail.state === "connected") peers.add(e.detail.peer); else peers.delete(e.detail.peer); maxPeers = Math.max(maxPeers, peers.size); });
            const buf = await (await cdn.fetch(id)).arrayBuffer();
            const ms = performance.now() - t0;
            const d = new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
            // Diagnostics from the SDK's internals (not public API): where discarded bytes came from.
            const sw = [...cdn.swarms.values()][0];
            const diag = sw ? { late: sw.bytesDiscardedLate, dup: sw.bytesDiscardedDuplicate, timeouts: sw.scheduler.timedOut, duplicates: sw.scheduler.duplicates } : {};
            return { ms, hash: Array.from(d, (b) => b.toString(16).padStart(2, "0")).join(""), stats: cdn.stats(), timeline: tl.join(" "), maxPeers, diag };
          })();
        }
        """;

    private const string HttpScript = """
        (id) => {
          window.__run = (async () => {
            const t0 = performance.now();
            const buf = await (await fetch("/content/" + id)).arrayBuffer();
            const ms = performance.now() - t0;
            const d = new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
            return { ms, hash: Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("") };
          })();
        }
        """;

    private static string Arg(string[] args, string name, string fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }
}
