using System.Diagnostics;
using System.Globalization;
using System.Net;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Core.Scheduling;
using WebRtcCdn.Rtc.PeerConnection;

namespace WebRtcCdn.Bench.Edge;

/// <summary>
/// The native peers of the edge bench, in a child process (this program again, <c>edge --child MODE ...</c>) so that
/// the edge's process measures only itself. Modes: <c>connect N C</c> (N connections, C at a time, until HELLO both
/// ways; timed), <c>idle N</c> (N idle peers held until a line arrives on stdin; reports the client side's GC heap per
/// peer), <c>fetch F</c> (F Downloaders over /rtc/offer at once, HTTP chunks off). Results come back as one
/// <c>RESULT key=value ...</c> line on stdout.
/// </summary>
internal sealed class EdgeBenchClients(Uri server, ContentId id, string dir)
{
    public const string ChildFlag = "--child";

    private static RtcConfiguration Loopback => new() { BindAddress = IPAddress.Loopback };

    /// <summary>Runs a child to completion and returns its RESULT fields.</summary>
    public async Task<Dictionary<string, string>> RunAsync(string mode, int count, int concurrency)
    {
        await using var child = Start(mode, count, concurrency);
        var result = await child.ReadResultAsync().ConfigureAwait(false);
        await child.StopAsync().ConfigureAwait(false);
        return result;
    }

    /// <summary>Starts an idle child; read its RESULT once its peers are connected, then stop it to release them.</summary>
    public Task<Child> StartIdleAsync(int peers) => Task.FromResult(Start("idle", peers, 4));

    private Child Start(string mode, int count, int concurrency)
    {
        var self = Environment.ProcessPath ?? "dotnet";
        var info = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            info.ArgumentList.Add(typeof(EdgeBenchClients).Assembly.Location);
        }

        foreach (var a in new[] { "edge", ChildFlag, mode, server.ToString(), id.ToString(), dir, count.ToString(CultureInfo.InvariantCulture), concurrency.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(a);
        }

        return new Child(Process.Start(info) ?? throw new InvalidOperationException("cannot start the client process"));
    }

    /// <summary>The child's side: <c>MODE server content-id dir count concurrency</c>.</summary>
    public static async Task<int> RunChildAsync(string[] args)
    {
        var mode = args[0];
        var server = new Uri(args[1]);
        if (!ContentId.TryParse(args[2], out var id))
        {
            throw new ArgumentException("bad content id", nameof(args));
        }

        var dir = args[3];
        var count = int.Parse(args[4], CultureInfo.InvariantCulture);
        var concurrency = int.Parse(args[5], CultureInfo.InvariantCulture);
        using var http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromMinutes(5) };
        var manifest = await Downloader.FetchManifestAsync(http, server, id, CancellationToken.None).ConfigureAwait(false);
        switch (mode)
        {
            case "connect":
            {
                var sw = Stopwatch.StartNew();
                var peers = await ConnectManyAsync(http, server, manifest, count, concurrency).ConfigureAwait(false);
                sw.Stop();
                Console.WriteLine(FormattableString.Invariant($"RESULT seconds={sw.Elapsed.TotalSeconds}"));
                await CloseAllAsync(peers).ConfigureAwait(false);
                return 0;
            }

            case "idle":
            {
                var before = EdgeBench.Settle();
                var peers = await ConnectManyAsync(http, server, manifest, count, concurrency).ConfigureAwait(false);
                var after = EdgeBench.Settle();
                Console.WriteLine(FormattableString.Invariant($"RESULT client-bytes-per-peer={(after - before) / (double)count}"));
                await Console.In.ReadLineAsync().ConfigureAwait(false);
                await CloseAllAsync(peers).ConfigureAwait(false);
                return 0;
            }

            case "fetch":
            {
                using var self = Process.GetCurrentProcess();
                var cpu = self.TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                var results = await Task.WhenAll(Enumerable.Range(0, count).Select(i => FetchAsync(http, server, id, Path.Combine(dir, $"fetch-{i}.bin")))).ConfigureAwait(false);
                sw.Stop();
                self.Refresh();
                var cpuMs = (self.TotalProcessorTime - cpu).TotalMilliseconds;
                foreach (var file in Directory.GetFiles(dir, "fetch-*"))
                {
                    File.Delete(file);
                }

                Console.WriteLine(FormattableString.Invariant(
                    $"RESULT seconds={sw.Elapsed.TotalSeconds} bytes={results.Sum(r => r.BytesFromPeers)} http-bytes={results.Sum(r => r.BytesFromHttp)} cpu-ms={cpuMs}"));
                return 0;
            }

            default:
                throw new ArgumentException($"unknown child mode {mode}", nameof(args));
        }
    }

    private static async Task<List<(EdgeOfferClient Client, PeerSession Session)>> ConnectManyAsync(HttpClient http, Uri server, Manifest manifest, int count, int concurrency)
    {
        var peers = new List<(EdgeOfferClient, PeerSession)>();
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, Math.Max(1, concurrency)).Select(async worker =>
        {
            while (Interlocked.Increment(ref next) <= count)
            {
                var client = await EdgeOfferClient.ConnectAsync(http, server, manifest.Id, null, Loopback, CancellationToken.None).ConfigureAwait(false);
                var session = new PeerSession(new RtcDataChannelPeerChannel(client.Channel), manifest, new NothingHeld());
                _ = session.StartAsync();
                await session.Ready.ConfigureAwait(false);
                lock (peers)
                {
                    peers.Add((client, session));
                }
            }
        })).ConfigureAwait(false);
        return peers;
    }

    private static async Task CloseAllAsync(List<(EdgeOfferClient Client, PeerSession Session)> peers)
    {
        foreach (var (client, session) in peers)
        {
            await session.DisposeAsync().ConfigureAwait(false);
            await client.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<DownloadProgress> FetchAsync(HttpClient http, Uri server, ContentId id, string path)
    {
        await using var downloader = await Downloader.OpenAsync(http, new DownloaderOptions { Origin = server, ContentId = id, OutputPath = path, DisableHttpChunks = true }).ConfigureAwait(false);
        await using var client = await EdgeOfferClient.ConnectAsync(http, server, id, null, Loopback, CancellationToken.None).ConfigureAwait(false);
        var session = new PeerSession(new RtcDataChannelPeerChannel(client.Channel), downloader.Manifest, downloader.ChunkSource);
        _ = session.StartAsync();
        await session.Ready.ConfigureAwait(false);
        downloader.AddPeer(session);
        return await downloader.RunAsync().ConfigureAwait(false);
    }

    /// <summary>A child process and its RESULT line.</summary>
    internal sealed class Child(Process process) : IAsyncDisposable
    {
        public async Task<Dictionary<string, string>> ReadResultAsync()
        {
            while (await process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (line.StartsWith("RESULT ", StringComparison.Ordinal))
                {
                    return line["RESULT ".Length..].Split(' ').Select(kv => kv.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
                }
            }

            throw new InvalidOperationException($"the client process ended without a result (exit code {(process.HasExited ? process.ExitCode : -1)})");
        }

        /// <summary>Tells an idle child to close its peers and waits for it to exit.</summary>
        public async Task StopAsync()
        {
            if (!process.HasExited)
            {
                await process.StandardInput.WriteLineAsync().ConfigureAwait(false);
                await process.StandardInput.FlushAsync().ConfigureAwait(false);
            }

            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2)).ConfigureAwait(false);
        }

        public ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                process.Kill(); // only this child, by its own handle
            }

            process.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class NothingHeld : IChunkSource
    {
        public bool Has(int chunkIndex) => false;

        public ValueTask<ReadOnlyMemory<byte>?> GetAsync(int chunkIndex, CancellationToken cancellationToken) => ValueTask.FromResult<ReadOnlyMemory<byte>?>(null);
    }
}
