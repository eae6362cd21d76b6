using System.Diagnostics;
using System.Text;

namespace WebRtcCdn.Testing;

/// <summary>
/// A child process with its output captured line by line, so a test can await a line (never sleep) and
/// assert on exit codes and messages. Killed (with its children) on dispose.
/// </summary>
public sealed class ExternalProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];
    private readonly Lock _gate = new();

    private ExternalProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public string StandardOutput { get { lock (_gate) { return _stdout.ToString(); } } }

    public string StandardError { get { lock (_gate) { return _stderr.ToString(); } } }

    public bool HasExited => _process.HasExited;

    /// <summary>Starts the product's server executable (WebRtcCdn.Server.dll beside the test assembly).</summary>
    public static ExternalProcess StartServer(IEnumerable<string> args, IDictionary<string, string>? environment = null) =>
        Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "WebRtcCdn.Server.dll"), .. args], environment);

    public static ExternalProcess Start(string fileName, IEnumerable<string> args, IDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // The child must not inherit test-run settings that change its behaviour.
        info.Environment.Remove("SIGNALING_ADDR");
        info.Environment.Remove("MAX_PEERS");
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var external = new ExternalProcess(process);
        process.OutputDataReceived += (_, e) => external.OnLine(e.Data, external._stdout);
        process.ErrorDataReceived += (_, e) => external.OnLine(e.Data, external._stderr);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return external;
    }

    /// <summary>Completes with the first output line (stdout or stderr) that matches, including lines already seen.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            var seen = (_stdout + "\n" + _stderr).Split('\n').FirstOrDefault(match);
            if (seen is not null)
            {
                return seen;
            }

            _waiters.Add((match, done));
        }

        var exited = _process.WaitForExitAsync();
        var winner = await Task.WhenAny(done.Task, exited, Task.Delay(timeout)).ConfigureAwait(false);
        if (winner == done.Task)
        {
            return await done.Task.ConfigureAwait(false);
        }

        throw new TimeoutException($"no matching output line ({(winner == exited ? "process exited" : "timed out")}).\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}");
    }

    /// <summary>Waits for the process to exit (all output read) and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"process did not exit within {timeout}.\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}");
        }

        return _process.ExitCode;
    }

    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            Kill();
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }

        _process.Dispose();
    }

    private void OnLine(string? line, StringBuilder sink)
    {
        if (line is null)
        {
            return;
        }

        List<TaskCompletionSource<string>> matched = [];
        lock (_gate)
        {
            sink.AppendLine(line);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(line))
                {
                    matched.Add(_waiters[i].Done);
                    _waiters.RemoveAt(i);
                }
            }
        }

        foreach (var done in matched)
        {
            done.TrySetResult(line);
        }
    }
}
