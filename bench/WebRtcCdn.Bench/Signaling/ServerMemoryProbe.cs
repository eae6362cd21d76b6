using System.Diagnostics;
using System.Globalization;

#pragma warning disable CA1050 // A startup hook must be a type named StartupHook outside any namespace.

/// <summary>
/// Loaded into the signaling bench's server child process with DOTNET_STARTUP_HOOKS (the server itself is not
/// changed): reads commands from stdin and answers on stdout with what the process holds, so the bench can break
/// server memory down without external tools. "mem" prints the GC's view before and after a full, compacting,
/// decommitting collection, the thread counts and RSS.
/// </summary>
internal static class StartupHook
{
    public static void Initialize()
    {
        var thread = new Thread(Loop) { IsBackground = true, Name = "bench memory probe" };
        thread.Start();
    }

    private static void Loop()
    {
        while (Console.In.ReadLine() is { } line)
        {
            if (line == "mem")
            {
                Console.Out.WriteLine("MEMPROBE " + Report());
                Console.Out.Flush();
            }
            else if (line == "gc0")
            {
                // One forced ephemeral collection and how long it paused the process.
                var before = GC.GetTotalPauseDuration();
                GC.Collect(0, GCCollectionMode.Forced, blocking: true);
                var gen0 = GC.GetTotalPauseDuration() - before;
                var before1 = GC.GetTotalPauseDuration();
                GC.Collect(1, GCCollectionMode.Forced, blocking: true);
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"MEMPROBE gen0_pause_ms={gen0.TotalMilliseconds} gen1_pause_ms={(GC.GetTotalPauseDuration() - before1).TotalMilliseconds}"));
                Console.Out.Flush();
            }
            else if (line == "gc")
            {
                // Without a collection: what the GC has cost so far, so the bench can attribute latency tails.
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"MEMPROBE pause_ms={GC.GetTotalPauseDuration().TotalMilliseconds} gen0_count={GC.CollectionCount(0)} gen1_count={GC.CollectionCount(1)} gen2_count={GC.CollectionCount(2)} max_pause_ms={MaxPauseMs()} allocated={GC.GetTotalAllocatedBytes(precise: false)}"));
                Console.Out.Flush();
            }
        }
    }

    private static string Report()
    {
        var info = GC.GetGCMemoryInfo(GCKind.Any);
        var rss = Rss();
        var heapBefore = info.HeapSizeBytes;
        var committedBefore = info.TotalCommittedBytes;
        var fragmentedBefore = info.FragmentedBytes;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var after = GC.GetGCMemoryInfo(GCKind.Any);
        var live = GC.GetTotalMemory(false);
        using var self = Process.GetCurrentProcess();
        return string.Join(' ', new[]
        {
            $"rss={rss}",
            $"heap={heapBefore}",
            $"committed={committedBefore}",
            $"fragmented={fragmentedBefore}",
            $"live={live}",
            $"heap_after={after.HeapSizeBytes}",
            $"committed_after={after.TotalCommittedBytes}",
            $"rss_after={Rss()}",
            $"threads={self.Threads.Count}",
            $"pool_threads={ThreadPool.ThreadCount}",
            $"gc_server={System.Runtime.GCSettings.IsServerGC}",
            $"gc_mode={System.Runtime.GCSettings.LatencyMode}",
            $"gen0_count={GC.CollectionCount(0)}",
            $"gen2_count={GC.CollectionCount(2)}",
        }.Select(s => s.ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>The longest pause among the last collections of each kind the runtime remembers.</summary>
    private static double MaxPauseMs()
    {
        var max = 0.0;
        foreach (var kind in new[] { GCKind.Ephemeral, GCKind.FullBlocking, GCKind.Background })
        {
            foreach (var pause in GC.GetGCMemoryInfo(kind).PauseDurations)
            {
                max = Math.Max(max, pause.TotalMilliseconds);
            }
        }

        return max;
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
}
