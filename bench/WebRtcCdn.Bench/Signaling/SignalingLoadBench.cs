using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace WebRtcCdn.Bench.Signaling;

/// <summary>
/// Load generator for /signaling and /announce. Runs the server as a child process (so its memory and CPU are
/// its own), opens N WebSocket clients from 127.0.0.1..127.0.0.50 (past the ephemeral-port limit of one source
/// address), joins them to swarms of 20, then relays offers at rising rates and reports: peers held, server RSS
/// per peer, admission rate, relay latency p50/p99 per rate, server CPU per relayed message, generator CPU.
/// Usage: signaling [--peers N] [--rates 1000,2000,...] [--seconds S] [--endpoint signaling|signaling-raw|announce|both|a,b,...]
/// (signaling-raw: /signaling on the dedicated plain-TCP listener, signaling.listen, instead of Kestrel).
/// </summary>
public sealed class SignalingLoadBench : IBenchSuite
{
    private const int SwarmSize = 20;
    private const int SourceAddresses = 50;

    public string Name => "signaling";

    public string Description => "signaling/tracker load: peers held, memory per peer, admissions/s, relay latency at rising rates";

    public async Task<int> RunAsync(string[] args)
    {
        var peers = IntArg(args, "--peers", 5000);
        var seconds = IntArg(args, "--seconds", 5);
        var rates = StringArg(args, "--rates", "1000,5000,10000,20000")!.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var endpoint = StringArg(args, "--endpoint", "both")!;
        if (args.Contains("--bare"))
        {
            // Memory floor only: the same Kestrel WebSocket stack without our server (BareWebSocketHost.cs).
            await MeasureBareAsync(peers).ConfigureAwait(false);
            return 0;
        }

        foreach (var e in endpoint == "both" ? new[] { "signaling", "announce" } : endpoint.Split(','))
        {
            await RunEndpointAsync(e, peers, rates, TimeSpan.FromSeconds(seconds)).ConfigureAwait(false);
        }

        return 0;
    }

    private static async Task MeasureBareAsync(int peers)
    {
        Console.WriteLine($"== bare Kestrel WebSocket host: {peers} peers ==");
        await using var server = await ServerProcess.StartAsync(peers, bare: true).ConfigureAwait(false);
        await Task.Delay(1000).ConfigureAwait(false);
        var rssBefore = server.RssBytes();
        var probeBefore = await server.ProbeAsync().ConfigureAwait(false);
        var clients = await ConnectAllAsync(server.Port, "signaling", peers).ConfigureAwait(false);
        var held = clients.Count(c => c is not null);
        await Task.Delay(2000).ConfigureAwait(false);
        Console.WriteLine(Inv($"server RSS {rssBefore / 1048576.0:F1} MiB -> {server.RssBytes() / 1048576.0:F1} MiB: {(server.RssBytes() - rssBefore) / (double)held:F0} bytes per peer"));
        PrintBreakdown(probeBefore, await server.ProbeAsync().ConfigureAwait(false), held);
        foreach (var c in clients)
        {
            c?.Dispose();
        }
    }

    private static async Task<Client[]> ConnectAllAsync(int port, string endpoint, int peers)
    {
        var clients = new Client[peers];
        using var gate = new SemaphoreSlim(64);
        var tasks = new List<Task>(peers);
        for (var i = 0; i < peers; i++)
        {
            var index = i;
            await gate.WaitAsync().ConfigureAwait(false);
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    clients[index] = await Client.ConnectAsync(port, endpoint, index).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
        return clients;
    }

    private static async Task RunEndpointAsync(string endpoint, int peers, int[] rates, TimeSpan step)
    {
        Console.WriteLine($"== {endpoint}: {peers} peers, swarms of {SwarmSize}, {step.TotalSeconds:F0} s per rate ==");
        var raw = endpoint == "signaling-raw";
        await using var server = await ServerProcess.StartAsync(peers, rawListener: raw).ConfigureAwait(false);
        var port = raw ? server.RawPort : server.Port;
        endpoint = raw ? "signaling" : endpoint;
        var me = Process.GetCurrentProcess();
        await Task.Delay(1000).ConfigureAwait(false);
        var rssBefore = server.RssBytes();
        var probeBefore = await server.ProbeAsync().ConfigureAwait(false);
        var clients = new Client[peers];
        var admission = Stopwatch.StartNew();
        var cpu0 = server.CpuTime();
        using (var gate = new SemaphoreSlim(64))
        {
            var tasks = new List<Task>(peers);
            for (var i = 0; i < peers; i++)
            {
                var index = i;
                await gate.WaitAsync().ConfigureAwait(false);
                tasks.Add(Task.Run(async () =>
                {
                    try
                    {
                        clients[index] = await Client.ConnectAsync(port, endpoint, index).ConfigureAwait(false);
                    }
                    finally
                    {
                        gate.Release();
                    }
                }));
            }

            await Task.WhenAll(tasks).ConfigureAwait(false);
        }

        admission.Stop();
        var admissionCpu = server.CpuTime() - cpu0;
        var held = clients.Count(c => c is not null);
        Console.WriteLine(Inv($"admitted {held} peers (connect + welcome + join) in {admission.Elapsed.TotalSeconds:F1} s = {held / admission.Elapsed.TotalSeconds:F0} admissions/s, server CPU {admissionCpu.TotalMilliseconds / held * 1000:F0} us per admission"));
        GC.Collect();
        await Task.Delay(2000).ConfigureAwait(false);
        var rssAfter = server.RssBytes();
        Console.WriteLine(Inv($"server RSS {rssBefore / 1048576.0:F1} MiB -> {rssAfter / 1048576.0:F1} MiB: {(rssAfter - rssBefore) / (double)held:F0} bytes per peer"));
        var probeAfter = await server.ProbeAsync().ConfigureAwait(false);
        PrintBreakdown(probeBefore, probeAfter, held);
        var idleGc = await server.ProbeAsync("gc0").ConfigureAwait(false);
        Console.WriteLine(Inv($"idle server, forced collections: gen0 pause {idleGc.GetValueOrDefault("gen0_pause_ms")} ms, gen1 pause {idleGc.GetValueOrDefault("gen1_pause_ms")} ms"));

        // Warm-up (JIT, thread pool growth, receive loops starting) outside the measured steps.
        await SendAtRateAsync(clients, rates[0], TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        await DrainAsync(clients).ConfigureAwait(false);

        foreach (var rate in rates)
        {
            foreach (var c in clients)
            {
                lock (c.Latencies)
                {
                    c.Latencies.Clear();
                }
            }

            var serverCpu = server.CpuTime();
            var genCpu = me.TotalProcessorTime;
            var serverGc = await server.ProbeAsync("gc").ConfigureAwait(false);
            var genPause = GC.GetTotalPauseDuration();
            var genCollections = GC.CollectionCount(0);
            var genCollections1 = GC.CollectionCount(1);
            var genCollections2 = GC.CollectionCount(2);
            var genAllocated = GC.GetTotalAllocatedBytes(precise: false);
            Client.ResetCounters();
            var sent = await SendAtRateAsync(clients, rate, step).ConfigureAwait(false);
            // Wait until every relayed message arrived (or 10 s), so that steps do not mix.
            await DrainAsync(clients).ConfigureAwait(false);
            var serverCpuUsed = server.CpuTime() - serverCpu;
            me.Refresh();
            var genCpuUsed = me.TotalProcessorTime - genCpu;
            var serverGcAfter = await server.ProbeAsync("gc").ConfigureAwait(false);
            double Delta(string key) => double.Parse(serverGcAfter[key], CultureInfo.InvariantCulture) - double.Parse(serverGc[key], CultureInfo.InvariantCulture);
            var latencies = clients.SelectMany(c =>
            {
                lock (c.Latencies)
                {
                    return c.Latencies.ToArray();
                }
            }).Order().ToArray();
            var received = latencies.Length;
            var open = clients.Count(c => c.Open);
            var gcLine = Inv($"GC pauses: server {Delta("pause_ms"):F1} ms in {Delta("gen0_count"):F0} GCs ({Delta("gen1_count"):F0} gen1, {Delta("gen2_count"):F0} gen2), longest recent {serverGcAfter["max_pause_ms"]} ms, allocated {Delta("allocated") / Math.Max(1, received):F0} B/msg; generator {(GC.GetTotalPauseDuration() - genPause).TotalMilliseconds:F1} ms in {GC.CollectionCount(0) - genCollections} GCs ({GC.CollectionCount(1) - genCollections1} gen1, {GC.CollectionCount(2) - genCollections2} gen2), allocated {(GC.GetTotalAllocatedBytes(precise: false) - genAllocated) / (double)Math.Max(1, received):F0} B/msg");
            Console.WriteLine(Inv(
                $"rate {rate,6}/s: sent {sent,7} ({sent / step.TotalSeconds,7:F0}/s) received {received,7}  p50 {Percentile(latencies, 0.50),7:F2} ms  p99 {Percentile(latencies, 0.99),7:F2} ms  server CPU {serverCpuUsed.TotalMilliseconds * 1000 / Math.Max(1, received),6:F1} us/msg ({serverCpuUsed.TotalSeconds / step.TotalSeconds * 100,3:F0}% of a core)  generator CPU {genCpuUsed.TotalSeconds / step.TotalSeconds * 100,3:F0}% of a core  open {open}"));
            Console.WriteLine("                " + gcLine);
        }

        foreach (var c in clients)
        {
            c.Dispose();
        }
    }

    /// <summary>
    /// Where the memory of N idle peers goes, from the probe inside the server (ServerMemoryProbe.cs): GC heap before
    /// a forced collection (live + garbage not yet collected), live managed bytes after a full compacting collection,
    /// what the GC keeps committed, RSS after the collection (the rest is native: thread stacks, runtime, sockets'
    /// user-space state), and threads.
    /// </summary>
    private static void PrintBreakdown(Dictionary<string, string> before, Dictionary<string, string> after, int n)
    {
        double PerPeer(string key) => (long.Parse(after[key], CultureInfo.InvariantCulture) - long.Parse(before[key], CultureInfo.InvariantCulture)) / (double)n;
        Console.WriteLine(Inv($"breakdown per peer (delta / {n}): GC heap before collection {PerPeer("heap"):F0} B, committed {PerPeer("committed"):F0} B, live managed after full GC {PerPeer("live"):F0} B, GC committed after {PerPeer("committed_after"):F0} B, RSS after full GC {PerPeer("rss_after"):F0} B"));
        Console.WriteLine(Inv($"server: gc_server={after["gc_server"]} threads {before["threads"]} -> {after["threads"]} (pool {before["pool_threads"]} -> {after["pool_threads"]}), gen0 GCs {after["gen0_count"]}, gen2 GCs {after["gen2_count"]}, RSS after full GC {long.Parse(after["rss_after"], CultureInfo.InvariantCulture) / 1048576.0:F1} MiB (idle baseline {long.Parse(before["rss_after"], CultureInfo.InvariantCulture) / 1048576.0:F1} MiB)"));
    }

    private static async Task DrainAsync(Client[] clients)
    {
        var deadline = Stopwatch.StartNew();
        while (Client.Received < Client.Sent && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50).ConfigureAwait(false);
        }

        _ = clients;
    }

    private static async Task<int> SendAtRateAsync(Client[] clients, int rate, TimeSpan duration)
    {
        // Several senders, each owning a disjoint slice of clients (a WebSocket allows one send at a time).
        const int Senders = 4;
        var counts = new int[Senders];
        var tasks = Enumerable.Range(0, Senders).Select(s => Task.Run(async () =>
        {
            var mine = clients.Where((_, i) => i % Senders == s).ToArray();
            var perSender = rate / (double)Senders;
            var clock = Stopwatch.StartNew();
            var sent = 0;
            var next = 0;
            while (clock.Elapsed < duration)
            {
                var due = (int)(clock.Elapsed.TotalSeconds * perSender);
                while (sent < due)
                {
                    var c = mine[next++ % mine.Length];
                    await c.SendRelayAsync().ConfigureAwait(false);
                    sent++;
                }

                await Task.Delay(1).ConfigureAwait(false);
            }

            counts[s] = sent;
        })).ToArray();
        await Task.WhenAll(tasks).ConfigureAwait(false);
        return counts.Sum();
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    private static int IntArg(string[] args, string name, int fallback) => StringArg(args, name, null) is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : fallback;

    private static string? StringArg(string[] args, string name, string? fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>One simulated peer: a WebSocket from 127.0.0.x, its id, its partner in the swarm.</summary>
    private sealed class Client : IDisposable
    {
        private static readonly byte[] Sdp = Encoding.ASCII.GetBytes(new string('s', 400));
        private readonly ClientWebSocket _ws;
        private readonly string _endpoint;
        private readonly int _index;
        private string _peerId = string.Empty;

        private Client(ClientWebSocket ws, string endpoint, int index)
        {
            _ws = ws;
            _endpoint = endpoint;
            _index = index;
        }

        private static long _sent;
        private static long _received;

        public static long Sent => Interlocked.Read(ref _sent);

        public static long Received => Interlocked.Read(ref _received);

        public bool Open => _ws.State == WebSocketState.Open;

        public static void ResetCounters()
        {
            Interlocked.Exchange(ref _sent, 0);
            Interlocked.Exchange(ref _received, 0);
        }

        public List<double> Latencies { get; } = [];

        public Client? Partner { get; set; }

        public static async Task<Client> ConnectAsync(int port, string endpoint, int index)
        {
            var source = IPAddress.Parse($"127.0.0.{1 + (index % SourceAddresses)}");
            using var invoker = new HttpMessageInvoker(new SocketsHttpHandler
            {
                ConnectCallback = async (context, token) =>
                {
                    var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    socket.Bind(new IPEndPoint(source, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, token).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                },
            }, disposeHandler: false);
            var ws = new ClientWebSocket();
            ws.Options.SetBuffer(4096, 4096);
            ws.Options.KeepAliveInterval = TimeSpan.Zero;
            await ws.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/{endpoint}"), invoker, CancellationToken.None).ConfigureAwait(false);
            var client = new Client(ws, endpoint, index);
            await client.JoinAsync().ConfigureAwait(false);
            // Keep a receive pending from now on: it also answers the server's keep-alive pings.
            client.StartReceiving();
            return client;
        }

        private string Swarm => $"swarm-{_index / SwarmSize:D6}";

        private async Task JoinAsync()
        {
            var buffer = new byte[8192];
            if (_endpoint == "signaling")
            {
                using var welcome = await ReceiveJsonAsync(buffer).ConfigureAwait(false);
                _peerId = welcome.RootElement.GetProperty("peer_id").GetString()!;
                await SendAsync(JsonSerializer.SerializeToUtf8Bytes(new { type = "join", swarm = Swarm })).ConfigureAwait(false);
                using var joined = await ReceiveJsonAsync(buffer).ConfigureAwait(false);
            }
            else
            {
                _peerId = TrackerId(_index);
                await SendAsync(JsonSerializer.SerializeToUtf8Bytes(new { action = "announce", info_hash = TrackerId(1_000_000 + (_index / SwarmSize)), peer_id = _peerId, @event = "started", left = 1 })).ConfigureAwait(false);
                using var reply = await ReceiveJsonAsync(buffer).ConfigureAwait(false);
            }

            lock (Pairs)
            {
                // Pair clients 2k and 2k+1 (same swarm); the partner learns the id when both exist.
                Pairs[_index] = this;
                if (Pairs.TryGetValue(_index ^ 1, out var other))
                {
                    Partner = other;
                    other.Partner = this;
                }
            }
        }

        private static readonly Dictionary<int, Client> Pairs = [];

        private static string TrackerId(int n) => n.ToString("D20", CultureInfo.InvariantCulture);

        /// <summary>This client's relay message, built once; each send writes the current timestamp into its fixed-width stamp field.</summary>
        private byte[]? _relay;
        private int _stampOffset;

        /// <summary>Width of the zero-padded Stopwatch timestamp at the start of the sdp text.</summary>
        private const int StampDigits = 20;

        public async Task SendRelayAsync()
        {
            if (Partner is null)
            {
                return;
            }

            // The generator's own garbage became GC pauses that counted as relay latency at 19k peers (bench/RESULTS.md):
            // the message is built once and only its stamp rewritten (one sender per client, so no send overlaps).
            if (_relay is null)
            {
                var marker = new string('9', StampDigits);
                _relay = _endpoint == "signaling"
                    ? JsonSerializer.SerializeToUtf8Bytes(new { type = "offer", to = Partner._peerId, sdp = marker + " " + Encoding.ASCII.GetString(Sdp) })
                    : JsonSerializer.SerializeToUtf8Bytes(new
                    {
                        action = "announce",
                        info_hash = TrackerId(1_000_000 + (_index / SwarmSize)),
                        peer_id = _peerId,
                        offers = new[] { new { offer_id = TrackerId(_index), offer = new { type = "offer", sdp = marker + " " + Encoding.ASCII.GetString(Sdp) } } },
                    });
                _stampOffset = _relay.AsSpan().IndexOf(Encoding.ASCII.GetBytes(marker));
            }

            Stopwatch.GetTimestamp().TryFormat(_relay.AsSpan(_stampOffset, StampDigits), out _, "D20", CultureInfo.InvariantCulture);
            try
            {
                await SendAsync(_relay).ConfigureAwait(false);
                Interlocked.Increment(ref _sent);
            }
            catch (WebSocketException)
            {
                // The server dropped this client (it reports as not open at the end of the step).
            }
        }

        public void StartReceiving() => _ = Task.Run(ReceiveLoopAsync);

        private async Task ReceiveLoopAsync()
        {
            var buffer = new byte[16384];
            try
            {
                while (true)
                {
                    var length = await ReceiveMessageAsync(buffer).ConfigureAwait(false);
                    var now = Stopwatch.GetTimestamp();
                    // Both endpoints forward the sdp text unchanged: find its stamp without parsing the whole message.
                    var message = buffer.AsSpan(0, length);
                    var at = message.IndexOf("\"sdp\":\""u8);
                    if (at >= 0 && long.TryParse(message.Slice(at + 7, StampDigits), NumberStyles.None, CultureInfo.InvariantCulture, out var stamp))
                    {
                        lock (Latencies)
                        {
                            Latencies.Add(Stopwatch.GetElapsedTime(stamp, now).TotalMilliseconds);
                        }

                        Interlocked.Increment(ref _received);
                    }
                }
            }
            catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException or ArgumentOutOfRangeException)
            {
            }
        }

        private Task SendAsync(byte[] message) => _ws.SendAsync(message, WebSocketMessageType.Text, true, CancellationToken.None);

        private async Task<JsonDocument> ReceiveJsonAsync(byte[] buffer) => JsonDocument.Parse(buffer.AsMemory(0, await ReceiveMessageAsync(buffer).ConfigureAwait(false)));

        private async Task<int> ReceiveMessageAsync(byte[] buffer)
        {
            var length = 0;
            while (true)
            {
                var r = await _ws.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None).ConfigureAwait(false);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    throw new WebSocketException("closed by the server");
                }

                length += r.Count;
                if (r.EndOfMessage)
                {
                    return length;
                }
            }
        }

        public void Dispose() => _ws.Abort();
    }

    /// <summary>The server as a child process: <c>dotnet WebRtcCdn.Server.dll --config … --address 127.0.0.1:PORT --max-peers N</c>.</summary>
    private sealed class ServerProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _config;

        private ServerProcess(Process process, int port, string config)
        {
            _process = process;
            Port = port;
            _config = config;
        }

        public int Port { get; }

        /// <summary>The dedicated /signaling listener's port (signaling.listen), when started with one.</summary>
        public int RawPort { get; private init; }

        public static async Task<ServerProcess> StartAsync(int peers, bool bare = false, bool rawListener = false)
        {
            var dll = Path.Combine(AppContext.BaseDirectory, "WebRtcCdn.Server.dll");
            var config = Path.GetTempFileName();
            // Limits raised for a load test from one host: every connection comes from 50 loopback addresses.
            var rawPort = rawListener ? FreePort() : 0;
            await File.WriteAllTextAsync(config, $$"""
                webrtc_cdn:
                  signaling:
                    listen: "{{(rawListener ? $"127.0.0.1:{rawPort}" : string.Empty)}}"
                    limits:
                      connections_per_ip: 1000000
                      message_rate: 100000
                      message_burst: 100000
                      idle_timeout: 1h
                """).ConfigureAwait(false);
            var port = FreePort();
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
            var arguments = bare
                ? new[] { typeof(SignalingLoadBench).Assembly.Location, "signaling-bare-host", "--address", $"127.0.0.1:{port}" }
                : [dll, "--config", config, "--address", $"127.0.0.1:{port}", "--max-peers", (peers + 100).ToString(CultureInfo.InvariantCulture)];
            foreach (var a in arguments)
            {
                start.ArgumentList.Add(a);
            }

            // The probe (ServerMemoryProbe.cs) runs inside the server as a startup hook; the GC settings are the server's own.
            start.Environment["DOTNET_STARTUP_HOOKS"] = typeof(SignalingLoadBench).Assembly.Location;
            var process = Process.Start(start)!;
            var ready = new TaskCompletionSource();
            var result = new ServerProcess(process, port, config) { RawPort = rawPort };
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data?.StartsWith("MEMPROBE ", StringComparison.Ordinal) == true)
                {
                    result._probe?.TrySetResult(e.Data["MEMPROBE ".Length..].Split(' ').Select(kv => kv.Split('=')).ToDictionary(kv => kv[0], kv => kv[1]));
                }

                if (e.Data?.Contains("listening on", StringComparison.OrdinalIgnoreCase) == true || e.Data?.Contains("Application started", StringComparison.Ordinal) == true)
                {
                    ready.TrySetResult();
                }
            };
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    Console.Error.WriteLine("server: " + e.Data);
                }
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            return result;
        }

        private TaskCompletionSource<Dictionary<string, string>>? _probe;

        private static int FreePort()
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            return port;
        }

        /// <summary>Asks the probe inside the server for its memory figures (forces a full collection there).</summary>
        public async Task<Dictionary<string, string>> ProbeAsync(string command = "mem")
        {
            _probe = new TaskCompletionSource<Dictionary<string, string>>(TaskCreationOptions.RunContinuationsAsynchronously);
            await _process.StandardInput.WriteLineAsync(command).ConfigureAwait(false);
            await _process.StandardInput.FlushAsync().ConfigureAwait(false);
            return await _probe.Task.WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }

        public long RssBytes()
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
                }
            }

            return 0;
        }

        public TimeSpan CpuTime()
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }

        public async ValueTask DisposeAsync()
        {
            _process.Kill();
            await _process.WaitForExitAsync().ConfigureAwait(false);
            _process.Dispose();
            File.Delete(_config);
        }
    }
}
