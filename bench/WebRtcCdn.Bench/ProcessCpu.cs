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

    /// <summary>
    /// CPU of every live descendant thread, keyed by "process type / thread name" (Chromium's <c>--type=</c> switch, or
    /// "browser"; the kernel's thread name): where a Chromium swarm spends its cores. Subtract two snapshots.
    /// </summary>
    public static Dictionary<string, long> DescendantThreads()
    {
        var self = Environment.ProcessId;
        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid))
            {
                try
                {
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    parents[pid] = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                }
            }
        }

        var result = new Dictionary<string, long>();
        foreach (var pid in parents.Keys)
        {
            var descendant = false;
            for (var p = pid; p > 1 && parents.TryGetValue(p, out var parent); p = parent)
            {
                if (parent == self)
                {
                    descendant = true;
                    break;
                }
            }

            if (!descendant)
            {
                continue;
            }

            try
            {
                // Chromium rewrites its argv into one space-separated string, so the switch is searched in the whole line.
                var cmd = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
                var at = cmd.IndexOf("--type=", StringComparison.Ordinal);
                var type = at >= 0 ? cmd[(at + 7)..].Split(' ')[0] : Path.GetFileName(cmd.Split(' ')[0]);
                if (type == "utility" && cmd.Contains("--utility-sub-type=", StringComparison.Ordinal))
                {
                    var sub = cmd.IndexOf("--utility-sub-type=", StringComparison.Ordinal);
                    type = cmd[(sub + 19)..].Split(' ')[0];
                }

                foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
                {
                    var stat = File.ReadAllText(Path.Combine(task, "stat"));
                    var name = stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')];
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    var t = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                    // Numbered pool threads (ThreadPoolForeg, etc.) merge under one name.
                    var key = type + " / " + name.TrimEnd('0', '1', '2', '3', '4', '5', '6', '7', '8', '9');
                    result[key] = result.GetValueOrDefault(key) + t;
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return result;
    }

    /// <summary>This process (the server and the bench driver).</summary>
    public static TimeSpan Self() => System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;

    public static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[..3] is var f ? string.Join(' ', f) : "";
}
