using System.Globalization;

namespace WebRtcCdn.Bench;

/// <summary>
/// CPU time of this process and of its descendants (Playwright's driver and the Chromium it launches), from
/// /proc: the swarm, rtc and edge figures are CPU-bound on a 2-core machine, so every run reports where the CPU went.
/// </summary>
internal static class ProcessCpu
{
    /// <summary>utime + stime of every live descendant process of this one.</summary>
    public static TimeSpan Descendants()
    {
        var self = Environment.ProcessId;
        var parents = new Dictionary<int, int>();
        var ticks = new Dictionary<int, long>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                parents[pid] = int.Parse(fields[1], CultureInfo.InvariantCulture);
                ticks[pid] = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // The process exited between the listing and the read.
            }
        }

        long total = 0;
        foreach (var pid in parents.Keys)
        {
            for (var p = pid; p > 1 && parents.TryGetValue(p, out var parent); p = parent)
            {
                if (parent == self)
                {
                    total += ticks[pid];
                    break;
                }
            }
        }

        return TimeSpan.FromSeconds(total / 100.0); // USER_HZ is 100 on Linux
    }

    /// <summary>This process (the server and the bench driver).</summary>
    public static TimeSpan Self() => System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;

    public static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[..3] is var f ? string.Join(' ', f) : "";
}
