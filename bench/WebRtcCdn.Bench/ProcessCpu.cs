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
        long total = 0;
        foreach (var pid in DescendantPids())
        {
            try
            {
                total += Ticks(File.ReadAllText($"/proc/{pid}/stat"));
            }
            catch (IOException)
            {
                // The process exited since the listing.
            }
        }

        return TimeSpan.FromSeconds(total / 100.0); // USER_HZ is 100 on Linux
    }

    /// <summary>
    /// CPU ticks (10 ms) of every live descendant thread, keyed by "process type / thread name" (Chromium's
    /// <c>--type=</c> switch, or the executable; the kernel's thread name): where a Chromium swarm spends its cores.
    /// Subtract two snapshots.
    /// </summary>
    public static Dictionary<string, long> DescendantThreads()
    {
        var result = new Dictionary<string, long>();
        foreach (var pid in DescendantPids())
        {
            try
            {
                // Chromium rewrites its argv into one space-separated string, so the switch is searched in the whole line.
                var cmd = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
                var type = Switch(cmd, "--type=") ?? Path.GetFileName(cmd.Split(' ')[0]);
                if (type == "utility" && Switch(cmd, "--utility-sub-type=") is { } sub)
                {
                    type = sub;
                }

                foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
                {
                    var stat = File.ReadAllText(Path.Combine(task, "stat"));
                    var name = stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')];
                    // Numbered pool threads (ThreadPoolForeg, etc.) merge under one name.
                    var key = type + " / " + name.TrimEnd('0', '1', '2', '3', '4', '5', '6', '7', '8', '9');
                    result[key] = result.GetValueOrDefault(key) + Ticks(stat);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process exited since the listing.
            }
        }

        return result;
    }

    /// <summary>Live processes whose chain of parents reaches this one.</summary>
    private static List<int> DescendantPids()
    {
        var self = Environment.ProcessId;
        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid))
            {
                try
                {
                    parents[pid] = int.Parse(Fields(File.ReadAllText(Path.Combine(dir, "stat")))[1], CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                    // The process exited between the listing and the read.
                }
            }
        }

        var result = new List<int>();
        foreach (var pid in parents.Keys)
        {
            for (var p = pid; p > 1 && parents.TryGetValue(p, out var parent); p = parent)
            {
                if (parent == self)
                {
                    result.Add(pid);
                    break;
                }
            }
        }

        return result;
    }

    /// <summary>The fields of a /proc stat line after the command name (which may hold spaces and parentheses).</summary>
    private static string[] Fields(string stat) => stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

    /// <summary>utime + stime of a /proc stat line, in ticks.</summary>
    private static long Ticks(string stat)
    {
        var fields = Fields(stat);
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    private static string? Switch(string cmd, string name)
    {
        var at = cmd.IndexOf(name, StringComparison.Ordinal);
        return at >= 0 ? cmd[(at + name.Length)..].Split(' ')[0] : null;
    }

    /// <summary>This process (the server and the bench driver).</summary>
    public static TimeSpan Self() => System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;

    public static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[..3] is var f ? string.Join(' ', f) : "";
}
