using System.Diagnostics;
using System.Globalization;
using WebRtcCdn.Rtc.Sctp;
using WebRtcCdn.Rtc.Tests.Sctp.Simulation;

namespace WebRtcCdn.Bench.Sctp;

/// <summary>
/// SCTP association pair over the simulated link: link utilisation at 1 Gbit/s for several RTTs and loss
/// rates (virtual time, so CPU does not limit it), then the real CPU cost per MB of both associations.
/// </summary>
public sealed class SctpSimBench : IBenchSuite
{
    private const double Rate = 125_000_000; // 1 Gbit/s in bytes per second
    private static readonly byte[] Payload = MakePayload();
    private static readonly bool Trace = Environment.GetEnvironmentVariable("SCTP_SIM_TRACE") == "1";

    public string Name => "sctp-sim";

    public string Description => "SCTP over a simulated 1 Gbit/s link: utilisation by RTT/loss, CPU per MB";

    public Task<int> RunAsync(string[] args)
    {
        if (args.Length > 0 && args[0] == "cpu")
        {
            RunCpu(64, print: false); // JIT warm-up
            RunCpu(256);
            return Task.FromResult(0);
        }

        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        Console.WriteLine($"sctp-sim: 1 Gbit/s bottleneck, queue = max(BDP, 256 KiB), {seconds} s virtual per case, utilisation measured after 2 s (and overall)");
        Console.WriteLine("| RTT ms | loss % | rwnd MiB | utilisation (steady) | utilisation (overall) | retransmitted | RTOs | sim real s |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        var rtts = args.Length > 1 ? [int.Parse(args[1], CultureInfo.InvariantCulture)] : new[] { 0, 20, 50, 100 };
        var losses = args.Length > 2 ? [double.Parse(args[2], CultureInfo.InvariantCulture)] : new[] { 0.0, 0.001 };
        foreach (var rwndMiB in new[] { 8, 16, 32 })
        {
            foreach (var rttMs in rtts)
            {
                foreach (var loss in losses)
                {
                    RunUtilisation(rttMs, loss, rwndMiB, seconds);
                }
            }
        }

        RunCpu(64, print: false); // JIT warm-up
        RunCpu(256);
        return Task.FromResult(0);
    }

    private static void RunUtilisation(int rttMs, double loss, int rwndMiB, double seconds)
    {
        var delay = TimeSpan.FromMilliseconds(rttMs / 2.0);
        var bdp = Rate * rttMs / 1000.0;
        var link = new LinkProfile { BytesPerSecond = Rate, Delay = delay, LossRate = loss, QueueLimitBytes = (long)Math.Max(bdp, 256 * 1024) };
        var options = new SctpOptions { ReceiveBufferSize = rwndMiB * 1024 * 1024, SendBufferSize = 2 * rwndMiB * 1024 * 1024 };
        var pair = new SctpPair(42, link, link with { LossRate = 0 }, options, options);
        pair.ConnectBoth();
        pair.RunUntil(() => pair.A.State == SctpAssociationState.Established && pair.B.State == SctpAssociationState.Established, TimeSpan.FromSeconds(10));
        long delivered = 0;
        long deliveredAtWarm = -1;
        var start = pair.Now;
        var warm = start + TimeSpan.FromSeconds(2);
        var nextTrace = start;
        pair.OnEvent = (a, e) =>
        {
            if (!a && e.Kind == SctpEventKind.Message)
            {
                delivered += e.Message!.Length;
                pair.B.Release(e.Message);
            }
        };
        pair.AfterStep = () =>
        {
            if (deliveredAtWarm < 0 && pair.Now >= warm)
            {
                deliveredAtWarm = delivered;
            }

            if (Trace && pair.Now >= nextTrace)
            {
                nextTrace += TimeSpan.FromMilliseconds(250);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  t={pair.Now.TotalSeconds:F2} cwnd={pair.A.CongestionWindow / 1e6:F2}MB unacked={pair.A.UnacknowledgedBytes / 1e6:F2}MB srtt={pair.A.SmoothedRtt.TotalMilliseconds:F1}ms rxheld={pair.B.ReceiveBufferedBytes / 1e6:F2}MB delivered={delivered / 1e6:F0}MB rtx={pair.A.RetransmittedChunks}"));
            }

            while (pair.A.TotalBufferedAmount < options.ReceiveBufferSize
                && pair.A.Send(1, 53, Payload.AsMemory(), SendOptions.Reliable) == SendStatus.Success)
            {
            }
        };
        pair.AfterStep();
        var sw = Stopwatch.StartNew();
        pair.RunFor(TimeSpan.FromSeconds(seconds));
        sw.Stop();
        var steady = (delivered - deliveredAtWarm) / ((seconds - 2) * Rate);
        var overall = delivered / (seconds * Rate);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {rttMs} | {loss * 100:F1} | {rwndMiB} | {steady * 100:F1}% | {overall * 100:F1}% | {pair.A.RetransmittedChunks} | {pair.A.RetransmissionTimeouts} | {sw.Elapsed.TotalSeconds:F1} |"));
    }

    private static void RunCpu(int megabytes, bool print = true)
    {
        // No delay, no rate limit: the pair runs as fast as the CPU goes; this is the protocol cost of both ends.
        foreach (var copy in new[] { false, true })
        {
            var link = new LinkProfile { Delay = TimeSpan.Zero };
            var pair = new SctpPair(43, link);
            pair.ConnectBoth();
            pair.RunUntil(() => pair.A.State == SctpAssociationState.Established && pair.B.State == SctpAssociationState.Established, TimeSpan.FromSeconds(10));
            long total = (long)megabytes * 1024 * 1024;
            long sent = 0;
            long delivered = 0;
            pair.OnEvent = (a, e) =>
            {
                if (!a && e.Kind == SctpEventKind.Message)
                {
                    delivered += e.Message!.Length;
                    pair.B.Release(e.Message);
                }
            };
            pair.AfterStep = () =>
            {
                while (sent < total && pair.A.TotalBufferedAmount < 4 * 1024 * 1024)
                {
                    var status = copy ? pair.A.Send(1, 53, Payload.AsSpan(), SendOptions.Reliable) : pair.A.Send(1, 53, Payload.AsMemory(), SendOptions.Reliable);
                    if (status != SendStatus.Success)
                    {
                        break;
                    }

                    sent += Payload.Length;
                }
            };
            pair.AfterStep();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var gc0 = GC.CollectionCount(0);
            var alloc0 = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            pair.RunUntil(() => delivered >= total, TimeSpan.FromHours(1));
            sw.Stop();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
            var mb = total / 1e6;
            if (!print)
            {
                continue;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"cpu ({(copy ? "Send(span): one copy in" : "Send(memory): no copy in")}): {megabytes} MiB in {sw.Elapsed.TotalSeconds:F2} s = {mb / sw.Elapsed.TotalSeconds:F0} MB/s through both associations and the simulator; " +
                $"{cpu.TotalMilliseconds / mb:F2} ms CPU per MB; {(GC.GetAllocatedBytesForCurrentThread() - alloc0) / (double)total:F3} bytes allocated per payload byte; gen0 GCs {GC.CollectionCount(0) - gc0}"));
        }
    }

    private static byte[] MakePayload()
    {
        var p = new byte[64 * 1024];
        new Random(1).NextBytes(p);
        return p;
    }
}
