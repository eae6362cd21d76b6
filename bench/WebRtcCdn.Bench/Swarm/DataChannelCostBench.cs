using System.Globalization;
using Microsoft.Playwright;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Bench.Swarm;

/// <summary>
/// What a data channel costs Chromium per MB, by message size: two pages (two renderer processes, as two viewers)
/// connected by one ordered, reliable data channel, the sender paced by bufferedAmount as the SDK's uploads are
/// (2 MiB high-water, 1 MiB low), the receiver counting bytes. Chromium CPU (every process under the bench) over the
/// transfer, divided by the MB moved. Tells whether the swarm's CPU bill is per message or per byte.
/// Usage: dc-cost [--mib 64] [--sizes 16,64,256] [--high-kib 2048] [--rounds 2] (the low-water mark is half the high one)
/// </summary>
public sealed class DataChannelCostBench : IBenchSuite
{
    public string Name => "dc-cost";

    public string Description => "Chromium CPU per MB over one data channel between two pages, by message size";

    public async Task<int> RunAsync(string[] args)
    {
        var mib = int.Parse(Arg(args, "--mib", "64"), CultureInfo.InvariantCulture);
        var sizes = Arg(args, "--sizes", "16,64,256").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture) << 10).ToArray();
        var rounds = int.Parse(Arg(args, "--rounds", "2"), CultureInfo.InvariantCulture);
        var highs = Arg(args, "--high-kib", "2048").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture) << 10).ToArray();
        var browser = await Chromium.BrowserAsync().ConfigureAwait(false);
        Console.WriteLine($"dc-cost: {mib} MiB per transfer, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine("| message size (KiB) | high-water (KiB) | round | seconds | MB/s | Chromium CPU (s) | Chromium CPU ms per MB | load average |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var (size, high) in sizes.SelectMany(s => highs.Select(h => (s, h))))
            {
                var a = await browser.NewContextAsync().ConfigureAwait(false);
                var b = await browser.NewContextAsync().ConfigureAwait(false);
                try
                {
                    var sender = await a.NewPageAsync().ConfigureAwait(false);
                    var receiver = await b.NewPageAsync().ConfigureAwait(false);
                    var offer = await sender.EvaluateAsync<string>(SenderSetup).ConfigureAwait(false);
                    var answer = await receiver.EvaluateAsync<string>(ReceiverSetup, new object[] { offer, mib << 20 }).ConfigureAwait(false);
                    await sender.EvaluateAsync(SenderAnswer, answer).ConfigureAwait(false);
                    var cpu = ProcessCpu.Descendants();
                    var load = ProcessCpu.LoadAverage();
                    var ms = await sender.EvaluateAsync<double>(SenderRun, new object[] { size, mib << 20, high }).ConfigureAwait(false);
                    await receiver.EvaluateAsync("() => window.__done").ConfigureAwait(false);
                    var used = ProcessCpu.Descendants() - cpu;
                    var mb = (mib << 20) / 1e6;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {size >> 10} | {high >> 10} | {round} | {ms / 1000:F2} | {mb / (ms / 1000):F1} | {used.TotalSeconds:F2} | {used.TotalMilliseconds / mb:F0} | {load} |"));
                }
                finally
                {
                    await a.CloseAsync().ConfigureAwait(false);
                    await b.CloseAsync().ConfigureAwait(false);
                }
            }
        }

        return 0;
    }

    // Host candidates only, gathered before the offer is returned (no trickle through the driver).
    private const string SenderSetup = """
        async () => {
          const pc = new RTCPeerConnection();
          window.__pc = pc;
          const ch = pc.createDataChannel("cdn", { ordered: true });
          ch.binaryType = "arraybuffer";
          window.__ch = ch;
          window.__open = new Promise((r) => (ch.onopen = r));
          await pc.setLocalDescription();
          await new Promise((r) => { if (pc.iceGatheringState === "complete") r(); else pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && r(); });
          return pc.localDescription.sdp;
        }
        """;

    private const string ReceiverSetup = """
        async ([sdp, total]) => {
          const pc = new RTCPeerConnection();
          window.__pc = pc;
          window.__done = new Promise((done) => {
            pc.ondatachannel = (e) => {
              const ch = e.channel;
              ch.binaryType = "arraybuffer";
              let n = 0;
              ch.onmessage = (m) => { n += m.data.byteLength; if (n >= total) done(n); };
            };
          });
          await pc.setRemoteDescription({ type: "offer", sdp });
          await pc.setLocalDescription();
          await new Promise((r) => { if (pc.iceGatheringState === "complete") r(); else pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && r(); });
          return pc.localDescription.sdp;
        }
        """;

    private const string SenderAnswer = """
        async (sdp) => { await window.__pc.setRemoteDescription({ type: "answer", sdp }); await window.__open; }
        """;

    private const string SenderRun = """
        async ([size, total, high]) => {
          const ch = window.__ch;
          const data = new Uint8Array(size);
          for (let i = 0; i < size; i++) data[i] = i & 0xff;
          ch.bufferedAmountLowThreshold = high / 2;
          const t0 = performance.now();
          let sent = 0;
          await new Promise((finished) => {
            const pump = () => {
              while (sent < total && ch.bufferedAmount <= high) {
                const n = Math.min(size, total - sent);
                ch.send(n === size ? data : data.subarray(0, n));
                sent += n;
              }
              if (sent >= total) finished();
            };
            ch.onbufferedamountlow = pump;
            pump();
          });
          // Wait until the channel has drained (the receiver's count is awaited by the driver).
          while (ch.bufferedAmount > 0) await new Promise((r) => setTimeout(r, 5));
          return performance.now() - t0;
        }
        """;

    private static string Arg(string[] args, string name, string fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }
}
