using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using WebRtcCdn.Rtc.PeerConnection;

namespace WebRtcCdn.Bench.Rtc;

/// <summary>
/// Where connection setup (CreateDataChannel + CreateOffer -> channel open on both sides) spends its time, C#&lt;-&gt;C#
/// on loopback: every step the stack reports through <see cref="SetupTrace"/> (ICE, each DTLS datagram in and out,
/// BouncyCastle's handshake thread, SCTP chunks, channel open) is stamped with the wall clock and the reporting
/// thread's CPU time; the median offset of each step from CreateOffer is printed, with the CPU each handshake thread used.
/// Usage: rtc phases [runs].
/// </summary>
internal static class RtcSetupPhases
{
    private sealed record Mark(long Timestamp, object Who, string Phase, int Thread, long ThreadCpuNs);

    public static async Task RunAsync(int runs)
    {
        var marks = new ConcurrentQueue<Mark>();
        SetupTrace.Sink = (who, phase) => marks.Enqueue(new Mark(Stopwatch.GetTimestamp(), who, phase, Environment.CurrentManagedThreadId, ThreadCpu.NowNs()));
        var offsets = new Dictionary<string, List<double>>();
        var order = new Dictionary<string, double>();
        var totals = new List<double>();
        var bcCpu = new Dictionary<string, List<double>>();
        try
        {
            for (var i = 0; i < runs + 10; i++)
            {
                await using var a = new RtcPeerConnection(Config());
                await using var b = new RtcPeerConnection(Config());
                marks.Clear();
                var start = Stopwatch.GetTimestamp();
                var channel = a.CreateDataChannel("ping");
                var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                channel.OnOpen += () => opened.TrySetResult();
                var remote = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                b.OnDataChannel += c => remote.TrySetResult();
                await a.SetLocalDescriptionAsync(await a.CreateOfferAsync().ConfigureAwait(false)).ConfigureAwait(false);
                await b.SetRemoteDescriptionAsync(a.LocalDescription!).ConfigureAwait(false);
                await b.SetLocalDescriptionAsync(await b.CreateAnswerAsync().ConfigureAwait(false)).ConfigureAwait(false);
                await a.SetRemoteDescriptionAsync(b.LocalDescription!).ConfigureAwait(false);
                await Task.WhenAll(opened.Task, remote.Task).WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
                var end = Stopwatch.GetTimestamp();
                if (i < 10)
                {
                    continue; // JIT and BouncyCastle warm-up
                }

                totals.Add(Stopwatch.GetElapsedTime(start, end).TotalMilliseconds);
                var seen = new Dictionary<string, int>();
                var bcStart = new Dictionary<int, (string Role, long Cpu)>();
                foreach (var m in marks.OrderBy(m => m.Timestamp))
                {
                    var who = m.Who == (object)a ? "A offerer" : m.Who == (object)b ? "B answerer" : m.Phase.Contains("Server", StringComparison.Ordinal) || m.Phase.Contains("Client", StringComparison.Ordinal) ? string.Empty : "bc thread " + (bcStart.TryGetValue(m.Thread, out var r) ? r.Role : "?");
                    var phase = DigitsToX(m.Phase);
                    if (m.Phase.EndsWith("thread start", StringComparison.Ordinal))
                    {
                        bcStart[m.Thread] = (m.Phase.Split(' ')[1], m.ThreadCpuNs);
                    }
                    else if (m.Phase.EndsWith("thread end", StringComparison.Ordinal) && bcStart.TryGetValue(m.Thread, out var s))
                    {
                        Add(bcCpu, s.Role, (m.ThreadCpuNs - s.Cpu) / 1e6);
                    }

                    var key = (who.Length > 0 ? who + ": " : string.Empty) + phase;
                    seen[key] = seen.TryGetValue(key, out var n) ? n + 1 : 1;
                    key += seen[key] > 1 ? $" #{seen[key]}" : string.Empty;
                    var t = Stopwatch.GetElapsedTime(start, m.Timestamp).TotalMilliseconds;
                    Add(offsets, key, t);
                }
            }
        }
        finally
        {
            SetupTrace.Sink = null;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"setup phases, {runs} runs (after 10 warm-up), ms from CreateDataChannel; median [p10 p90] over the runs in which the step occurred (n):"));
        foreach (var (key, list) in offsets.OrderBy(kv => Median(kv.Value)))
        {
            list.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {Median(list),7:0.000} [{list[list.Count / 10],7:0.000} {list[list.Count * 9 / 10],7:0.000}] (n={list.Count,3})  {key}"));
        }

        totals.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"setup total (both sides open): median {Median(totals):0.00} ms, p90 {totals[totals.Count * 9 / 10]:0.00} ms"));
        foreach (var (role, list) in bcCpu)
        {
            list.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"BouncyCastle handshake thread CPU, DTLS {role}: median {Median(list):0.00} ms, p90 {list[list.Count * 9 / 10]:0.00} ms"));
        }
    }

    private static RtcConfiguration Config() => new()
    {
        BindAddress = IPAddress.Loopback,
        IceCheckInterval = TimeSpan.FromMilliseconds(5),
    };

    private static void Add(Dictionary<string, List<double>> d, string key, double value)
    {
        if (!d.TryGetValue(key, out var list))
        {
            d[key] = list = [];
        }

        list.Add(value);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    /// <summary>"dtls in 157 B" and "dtls in 158 B" are the same step: sizes vary with DER and signature lengths.</summary>
    private static string DigitsToX(string phase)
    {
        var parts = phase.Split(' ');
        for (var i = 0; i < parts.Length - 1; i++)
        {
            if (parts[i + 1] == "B" && int.TryParse(parts[i], out var n))
            {
                parts[i] = n < 200 ? "<200" : n < 600 ? "<600" : ">=600";
            }
        }

        return string.Join(' ', parts);
    }

    /// <summary>CLOCK_THREAD_CPUTIME_ID: the calling thread's CPU time in ns (Linux).</summary>
    private static class ThreadCpu
    {
        private const int ClockThreadCpuTimeId = 3;

        [StructLayout(LayoutKind.Sequential)]
        private struct Timespec
        {
            public long Seconds;
            public long Nanoseconds;
        }

#pragma warning disable SYSLIB1054, CA5392 // a one-off libc call in the bench; DllImport avoids unsafe code here
        [DllImport("libc", EntryPoint = "clock_gettime")]
        private static extern int ClockGetTime(int clock, out Timespec value);
#pragma warning restore SYSLIB1054, CA5392

        public static long NowNs() => ClockGetTime(ClockThreadCpuTimeId, out var ts) == 0 ? (ts.Seconds * 1_000_000_000) + ts.Nanoseconds : 0;
    }
}
