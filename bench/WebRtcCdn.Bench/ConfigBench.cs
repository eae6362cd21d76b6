using System.Diagnostics;
using System.Globalization;
using WebRtcCdn.Core.Configuration;

namespace WebRtcCdn.Bench;

/// <summary>Start-up cost of reading the full sample configuration (it runs once per process; this keeps it honest).</summary>
public sealed class ConfigBench : IBenchSuite
{
    public string Name => "config";

    public string Description => "parse the sample YAML configuration (loads per second)";

    public Task<int> RunAsync(string[] args)
    {
        var path = args.Length > 0 ? args[0] : Path.Combine("deploy", "webrtc-cdn.yaml");
        var yaml = File.ReadAllText(path);
        for (var i = 0; i < 200; i++)
        {
            ConfigurationLoader.LoadYaml(yaml, path);
        }

        const int N = 5000;
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < N; i++)
        {
            ConfigurationLoader.LoadYaml(yaml, path);
        }

        sw.Stop();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"config: {N} loads of {path} in {sw.Elapsed.TotalMilliseconds:F0} ms = {N / sw.Elapsed.TotalSeconds:F0} loads/s, {sw.Elapsed.TotalMicroseconds / N:F1} us each"));
        return Task.FromResult(0);
    }
}
