using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Bench.Tracker;

/// <summary>
/// What sharing /announce swarms through Redis costs: the offer -> answer round trip a WebTorrent client sees
/// (announce with one offer sent, the peer's answer received), at a fixed offer rate, with both peers on one node
/// without Redis, on one node with Redis, and on two nodes sharing a real redis-server (offer and answer each
/// cross nodes through pub/sub). Servers run in-process (Release), redis-server as a child process.
/// Usage: tracker-cluster [--pairs N] [--offers N] [--rate OFFERS_PER_S]
/// </summary>
public sealed class TrackerClusterBench : IBenchSuite
{
    private static int s_runs;

    public string Name => "tracker-cluster";

    public string Description => "/announce offer->answer round trip: one node, one node + Redis, two nodes over Redis";

    public async Task<int> RunAsync(string[] args)
    {
        var pairs = Arg(args, "--pairs", 200);
        var offers = Arg(args, "--offers", 5000);
        var rate = Arg(args, "--rate", 1000);
        Console.WriteLine($"pairs={pairs} offers={offers} rate={rate}/s load={File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine("mode                 answered   p50 ms   p90 ms   p99 ms   max ms");
        await using (var node = await StartNodeAsync(null))
        {
            Report("one node", await MeasureAsync(node, node, pairs, offers, rate, warmUp: true));
        }

        await using var redis = await RedisProcess.StartAsync();
        await using (var node = await StartNodeAsync(redis.ConnectionString))
        {
            Report("one node + redis", await MeasureAsync(node, node, pairs, offers, rate, warmUp: true));
        }

        await using (var node1 = await StartNodeAsync(redis.ConnectionString))
        await using (var node2 = await StartNodeAsync(redis.ConnectionString))
        {
            Report("two nodes + redis", await MeasureAsync(node1, node2, pairs, offers, rate, warmUp: true));
        }

        Console.WriteLine($"load after: {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static Task<TestServer> StartNodeAsync(string? redis) => TestServer.StartAsync(o =>
    {
        o.Signaling.Redis = redis ?? string.Empty;
        o.Signaling.Limits.MessageRate = 100_000;
        o.Signaling.Limits.MessageBurst = 100_000;
        o.Signaling.Limits.ConnectionsPerIp = 100_000;
        o.P2P.MaxPeers = 100_000;
    });

    private static void Report(string mode, (int Answered, List<double> Samples) r)
    {
        var s = r.Samples;
        s.Sort();
        double P(double q) => s.Count == 0 ? double.NaN : s[Math.Min(s.Count - 1, (int)(q * s.Count))];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{mode,-20} {r.Answered,8} {P(0.5),8:F2} {P(0.9),8:F2} {P(0.99),8:F2} {(s.Count == 0 ? double.NaN : s[^1]),8:F2}"));
    }

    /// <summary>Leechers on <paramref name="leechNode"/> send offers at <paramref name="rate"/>; seeders on <paramref name="seedNode"/> answer each at once.</summary>
    private static async Task<(int, List<double>)> MeasureAsync(TestServer leechNode, TestServer seedNode, int pairs, int offers, int rate, bool warmUp)
    {
        if (warmUp)
        {
            // JIT, Lua script loading and connection pools first, on the same nodes; the figures come from the second run.
            await MeasureAsync(leechNode, seedNode, pairs, Math.Max(pairs, offers / 5), rate, warmUp: false);
        }

        // Fresh ids per run, so that a run never meets the departing peers of the one before.
        var run = Interlocked.Increment(ref s_runs) * 1_000_000;
        var sent = new long[offers];
        var samples = new ConcurrentBag<double>();
        var answered = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var seeders = new List<ClientWebSocket>();
        var leechers = new List<ClientWebSocket>();
        var loops = new List<Task>();
        try
        {
            for (var p = 0; p < pairs; p++)
            {
                var infoHash = Id(run + p, 'h');
                var seeder = await ConnectAsync(seedNode);
                seeders.Add(seeder);
                await SendAsync(seeder, new { action = "announce", info_hash = infoHash, peer_id = Id(run + p, 's'), @event = "completed", left = 0 });
                await ReceiveAsync(seeder);
                var leecher = await ConnectAsync(leechNode);
                leechers.Add(leecher);
                await SendAsync(leecher, new { action = "announce", info_hash = infoHash, peer_id = Id(run + p, 'l'), @event = "started", left = 1 });
                await ReceiveAsync(leecher);
                var seederId = Id(run + p, 's');
                loops.Add(Task.Run(async () =>
                {
                    // The seeder answers every offer at once, as a WebTorrent client does once its SDP is ready.
                    while (await ReceiveAsync(seeder) is { } m)
                    {
                        using (m)
                        {
                            if (m.RootElement.TryGetProperty("offer", out _))
                            {
                                await SendAsync(seeder, new
                                {
                                    action = "announce",
                                    info_hash = infoHash,
                                    peer_id = seederId,
                                    to_peer_id = m.RootElement.GetProperty("peer_id").GetString(),
                                    offer_id = m.RootElement.GetProperty("offer_id").GetString(),
                                    answer = new { type = "answer", sdp = "v=0\r\n" },
                                });
                            }
                        }
                    }
                }));
                loops.Add(Task.Run(async () =>
                {
                    while (await ReceiveAsync(leecher) is { } m)
                    {
                        using (m)
                        {
                            if (m.RootElement.TryGetProperty("answer", out _))
                            {
                                var index = int.Parse(m.RootElement.GetProperty("offer_id").GetString()!.AsSpan(0, 10), CultureInfo.InvariantCulture);
                                samples.Add(Stopwatch.GetElapsedTime(Volatile.Read(ref sent[index])).TotalMilliseconds);
                                if (Interlocked.Increment(ref answered) == offers)
                                {
                                    done.TrySetResult();
                                }
                            }
                        }
                    }
                }));
            }

            // Open loop: offers leave on schedule whatever the answers do, in 10 ms batches.
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < offers; i++)
            {
                var due = TimeSpan.FromSeconds((double)i / rate);
                var wait = due - Stopwatch.GetElapsedTime(start);
                if (wait > TimeSpan.FromMilliseconds(10))
                {
                    await Task.Delay(wait);
                }

                var p = i % pairs;
                Volatile.Write(ref sent[i], Stopwatch.GetTimestamp());
                await SendAsync(leechers[p], new
                {
                    action = "announce",
                    info_hash = Id(run + p, 'h'),
                    peer_id = Id(run + p, 'l'),
                    @event = "update",
                    left = 1,
                    offers = new[] { new { offer_id = i.ToString("D10", CultureInfo.InvariantCulture) + "oooooooooo", offer = new { type = "offer", sdp = "v=0\r\n" } } },
                });
            }

            await Task.WhenAny(done.Task, Task.Delay(TimeSpan.FromSeconds(30)));
            return (Volatile.Read(ref answered), [.. samples]);
        }
        finally
        {
            foreach (var ws in seeders.Concat(leechers))
            {
                ws.Abort();
                ws.Dispose();
            }

            await Task.WhenAll(loops.Select(l => l.ContinueWith(_ => { }, TaskScheduler.Default)));
        }
    }

    /// <summary>A 20-character id distinct per pair and role.</summary>
    private static string Id(int pair, char role) => pair.ToString("D10", CultureInfo.InvariantCulture) + new string(role, 10);

    private static async Task<ClientWebSocket> ConnectAsync(TestServer node)
    {
        var ws = new ClientWebSocket();
        await ws.ConnectAsync(node.WebSocketUri("/announce"), CancellationToken.None);
        return ws;
    }

    private static async Task SendAsync(ClientWebSocket ws, object message)
    {
        // One sender per socket: the seeder's own loop on a seeder, the pacer on a leecher.
        await ws.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), WebSocketMessageType.Text, true, CancellationToken.None);
    }

    private static async Task<JsonDocument?> ReceiveAsync(ClientWebSocket ws)
    {
        var buffer = new byte[16 * 1024];
        var length = 0;
        try
        {
            while (true)
            {
                var r = await ws.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    return null;
                }

                length += r.Count;
                if (r.EndOfMessage)
                {
                    return JsonDocument.Parse(buffer.AsMemory(0, length));
                }

                if (length == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>redis-server on a free loopback port, without persistence.</summary>
    private sealed class RedisProcess : IAsyncDisposable
    {
        private readonly Process _process;

        private RedisProcess(Process process, int port)
        {
            _process = process;
            ConnectionString = $"127.0.0.1:{port}";
        }

        public string ConnectionString { get; }

        public static async Task<RedisProcess> StartAsync()
        {
            var port = FreePort.Tcp();
            var start = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true };
            foreach (var a in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
            {
                start.ArgumentList.Add(a);
            }

            var process = Process.Start(start)!;
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    ready.TrySetException(new InvalidOperationException("redis-server exited"));
                }
                else if (e.Data.Contains("Ready to accept connections", StringComparison.Ordinal))
                {
                    ready.TrySetResult();
                }
            };
            process.BeginOutputReadLine();
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
            return new RedisProcess(process, port);
        }

        public async ValueTask DisposeAsync()
        {
            _process.Kill();
            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }
}
