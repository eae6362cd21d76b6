using WebRtcCdn.Testing;

namespace WebRtcCdn.Cli.Tests;

/// <summary>`webrtc-cdn serve` runs the same server with the same configuration rules.</summary>
public sealed class ServeCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static ExternalProcess Cli(params string[] args) =>
        ExternalProcess.Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "webrtc-cdn.dll"), .. args]);

    [Fact]
    public async Task Serve_runs_the_server()
    {
        var port = FreePort.Tcp();
        await using var cli = Cli("serve", "--address", $"127.0.0.1:{port}");
        await cli.WaitForLineAsync(l => l.Contains("Now listening on", StringComparison.Ordinal), Timeout);
        using var http = new HttpClient();
        Assert.Equal("{\"status\":\"ok\"}", await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/healthz")));
    }

    [Fact]
    public async Task Serve_with_bad_configuration_exits_2_with_one_line()
    {
        var config = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(config, "webrtc_cdn:\n  p2p:\n    chunk_size: huge\n");
            await using var cli = Cli("serve", "--config", config);
            Assert.Equal(2, await cli.WaitForExitAsync(Timeout));
            var line = Assert.Single(cli.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("webrtc-cdn: configuration error: webrtc_cdn.p2p.chunk_size: invalid size 'huge'", line, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task Help_lists_the_commands()
    {
        await using var cli = Cli("--help");
        Assert.Equal(0, await cli.WaitForExitAsync(Timeout));
        Assert.Contains("serve", cli.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_command_is_an_error()
    {
        await using var cli = Cli("frobnicate");
        Assert.NotEqual(0, await cli.WaitForExitAsync(Timeout));
        Assert.Contains("frobnicate", cli.StandardError, StringComparison.Ordinal);
    }
}
