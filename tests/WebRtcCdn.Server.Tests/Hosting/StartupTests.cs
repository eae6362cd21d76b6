using System.Net;
using System.Net.Sockets;
using WebRtcCdn.Server.Hosting;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Hosting;

/// <summary>The real server executable: it starts with good configuration and refuses bad configuration with one clear line.</summary>
public sealed class StartupTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("webrtc-cdn-startup").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("webrtc_cdn:\n  p2p:\n    bogus: 1\n", "webrtc_cdn.p2p.bogus: unknown key")]
    [InlineData("webrtc_cdn:\n  content:\n    max_cache_size: lots\n", "webrtc_cdn.content.max_cache_size: invalid size 'lots'")]
    [InlineData("webrtc_cdn:\n  p2p:\n    timeout: soon\n", "webrtc_cdn.p2p.timeout: invalid duration 'soon'")]
    [InlineData("webrtc_cdn:\n  signaling:\n    ssl: { enabled: true, cert: /missing/cert.pem, key: /missing/key.pem }\n", "webrtc_cdn.signaling.ssl.cert: certificate file not found: /missing/cert.pem")]
    public async Task Invalid_configuration_fails_startup_with_one_line(string yaml, string expected)
    {
        var config = Path.Combine(_dir, "bad.yaml");
        await File.WriteAllTextAsync(config, yaml);
        await using var server = ExternalProcess.StartServer(["--config", config, "--address", "127.0.0.1:0"]);

        Assert.Equal(ServerProgram.ExitConfiguration, await server.WaitForExitAsync(Timeout));
        var line = Assert.Single(server.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"webrtc-cdn: configuration error: {expected}", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_configuration_file_fails_startup()
    {
        await using var server = ExternalProcess.StartServer(["--config", Path.Combine(_dir, "absent.yaml")]);
        Assert.Equal(ServerProgram.ExitConfiguration, await server.WaitForExitAsync(Timeout));
        Assert.Contains("absent.yaml: configuration file not found", server.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_argument_fails_startup()
    {
        await using var server = ExternalProcess.StartServer(["--prot", "80"]);
        Assert.Equal(ServerProgram.ExitConfiguration, await server.WaitForExitAsync(Timeout));
        Assert.Contains("--prot: unknown command-line argument", server.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_environment_override_fails_startup()
    {
        await using var server = ExternalProcess.StartServer([], new Dictionary<string, string> { ["MAX_PEERS"] = "zero" });
        Assert.Equal(ServerProgram.ExitConfiguration, await server.WaitForExitAsync(Timeout));
        Assert.Contains("MAX_PEERS: invalid value 'zero'", server.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Port_in_use_fails_startup_with_one_line()
    {
        using var occupier = new TcpListener(IPAddress.Loopback, 0);
        occupier.Start();
        var port = ((IPEndPoint)occupier.LocalEndpoint).Port;

        await using var server = ExternalProcess.StartServer(["--address", $"127.0.0.1:{port}"]);

        Assert.Equal(ServerProgram.ExitListen, await server.WaitForExitAsync(Timeout));
        var line = Assert.Single(server.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"webrtc-cdn: cannot listen on 127.0.0.1:{port}: address already in use", line);
    }

    [Fact]
    public async Task Environment_address_is_used_and_serves_healthz()
    {
        var port = FreePort.Tcp();
        await using var server = ExternalProcess.StartServer([], new Dictionary<string, string> { ["SIGNALING_ADDR"] = $"127.0.0.1:{port}" });
        await server.WaitForLineAsync(l => l.Contains("Now listening on", StringComparison.Ordinal), Timeout);

        using var http = new HttpClient();
        var body = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/healthz"));
        Assert.Equal("{\"status\":\"ok\"}", body);
    }

    [Fact]
    public async Task Command_line_address_overrides_environment_and_file()
    {
        var filePort = FreePort.Tcp();
        var envPort = FreePort.Tcp();
        var cliPort = FreePort.Tcp();
        var config = Path.Combine(_dir, "good.yaml");
        await File.WriteAllTextAsync(config, $"webrtc_cdn:\n  signaling:\n    address: \"127.0.0.1:{filePort}\"\n");

        await using var server = ExternalProcess.StartServer(
            ["--config", config, "--address", $"127.0.0.1:{cliPort}"],
            new Dictionary<string, string> { ["SIGNALING_ADDR"] = $"127.0.0.1:{envPort}" });
        var line = await server.WaitForLineAsync(l => l.Contains("Now listening on", StringComparison.Ordinal), Timeout);

        Assert.Contains($"http://127.0.0.1:{cliPort}", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Embedded_default_listens_on_loopback_8080()
    {
        var options = ServerCommandLine.Parse([]).Resolve(_ => null);
        Assert.Equal("127.0.0.1:8080", options.Signaling.Address.ToString());
    }
}
