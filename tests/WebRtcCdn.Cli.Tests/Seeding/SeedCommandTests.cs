using System.Diagnostics;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Cli.Tests.Seeding;

/// <summary>
/// `webrtc-cdn seed` as a user runs it (the real CLI executable): it publishes a file, seeds it to the swarm as a native
/// peer, a `webrtc-cdn fetch` process gets every byte from it over WebRTC through signaling, and Ctrl+C stops it with 0.
/// </summary>
public sealed class SeedCommandTests : IAsyncLifetime
{
    private const string Token = "seed-cli-test-token-0123456789";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "webrtc-cdn-seed-" + Guid.NewGuid().ToString("N"));
    private TestServer _server = null!;
    private string _file = null!;
    private byte[] _content = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        // No edge: the seed is the only peer holding the content.
        _server = await TestServer.StartAsync(o =>
        {
            o.Content.StorePath = Path.Combine(_dir, "store");
            o.Content.PublishToken = Token;
            o.P2P.ChunkSize = 64 << 10;
        });
        _content = new byte[(3 * (64 << 10)) + 500];
        new Random(5).NextBytes(_content);
        _file = Path.Combine(_dir, "seeded.bin");
        await File.WriteAllBytesAsync(_file, _content);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private static ExternalProcess Cli(params string[] args) =>
        ExternalProcess.Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "webrtc-cdn.dll"), .. args]);

    [Fact]
    public async Task A_seed_process_serves_a_fetch_process_every_byte_over_webrtc_and_stops_on_ctrl_c()
    {
        await using var seed = Cli("seed", _file, "--server", _server.BaseUri.ToString(), "--publish-token", Token);
        var line = await seed.WaitForLineAsync(l => l.StartsWith("seeding ", StringComparison.Ordinal) || l.StartsWith("webrtc-cdn", StringComparison.Ordinal), Timeout);
        Assert.StartsWith("seeding ", line, StringComparison.Ordinal);
        var id = line.Split(' ')[1];

        var output = Path.Combine(_dir, "fetched.bin");
        await using (var fetch = Cli("fetch", id, "--server", _server.BaseUri.ToString(), "-o", output, "-q"))
        {
            Assert.True(await fetch.WaitForExitAsync(Timeout) == 0, fetch.StandardError);
            Assert.Contains($"p2p {_content.Length}  http 0", fetch.StandardOutput, StringComparison.Ordinal);
        }

        Assert.Equal(_content, await File.ReadAllBytesAsync(output));
        using (var interrupt = Process.Start("kill", ["-INT", seed.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await interrupt.WaitForExitAsync();
        }

        Assert.True(await seed.WaitForExitAsync(Timeout) == 0, seed.StandardError);
        Assert.Contains($"uploaded {_content.Length}", seed.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Content_the_server_does_not_know_exits_3_and_says_how_to_publish()
    {
        await using var cli = Cli("seed", _file, "--server", _server.BaseUri.ToString(), "--chunk-size", "64KB");
        Assert.Equal(3, await cli.WaitForExitAsync(Timeout));
        Assert.Contains("--publish-token", cli.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--server", "ftp://x", "--server")]
    [InlineData("--chunk-size", "3", "--chunk-size")]
    [InlineData("--max-peers", "0", "--max-peers")]
    [InlineData("--upload-limit", "fast", "--upload-limit")]
    [InlineData("--type", "nonsense", "--type")]
    public async Task Bad_arguments_exit_2_with_one_line(string option, string value, string expected)
    {
        await using var cli = Cli("seed", _file, option, value);
        Assert.Equal(2, await cli.WaitForExitAsync(Timeout));
        var message = Assert.Single(cli.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_file_or_argument_exits_2()
    {
        await using (var missing = Cli("seed", Path.Combine(_dir, "nope.bin")))
        {
            Assert.Equal(2, await missing.WaitForExitAsync(Timeout));
            Assert.Contains("is not a file", missing.StandardError, StringComparison.Ordinal);
        }

        await using var none = Cli("seed");
        Assert.Equal(2, await none.WaitForExitAsync(Timeout));
    }

    [Fact]
    public async Task An_unreachable_server_exits_1()
    {
        await using var cli = Cli("seed", _file, "--server", $"http://127.0.0.1:{FreePort.Tcp()}", "--publish-token", Token);
        Assert.Equal(1, await cli.WaitForExitAsync(Timeout));
        Assert.StartsWith("webrtc-cdn seed:", cli.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_the_options()
    {
        await using var cli = Cli("seed", "--help");
        Assert.Equal(0, await cli.WaitForExitAsync(Timeout));
        Assert.Contains("--publish-token", cli.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Ctrl+C", cli.StandardOutput, StringComparison.Ordinal);
    }
}
