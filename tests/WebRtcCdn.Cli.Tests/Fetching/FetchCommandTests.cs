using WebRtcCdn.Testing;

namespace WebRtcCdn.Cli.Tests.Fetching;

/// <summary>`webrtc-cdn fetch` and `webrtc-cdn stats` as a script runs them: exit codes, one-line errors, byte-exact output.</summary>
public sealed class FetchCommandTests : IAsyncLifetime
{
    private const string Token = "fetch-cli-test-token-0123456789";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "webrtc-cdn-fetch-" + Guid.NewGuid().ToString("N"));
    private TestServer _server = null!;
    private byte[] _content = null!;
    private string _id = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _server = await TestServer.StartAsync(o =>
        {
            o.Content.StorePath = Path.Combine(_dir, "store");
            o.Content.PublishToken = Token;
            o.P2P.ChunkSize = 64 << 10;
            o.Edge.Enabled = true;
            o.Edge.BindAddress = "127.0.0.1";
        });
        _content = new byte[300_000];
        new Random(3).NextBytes(_content);
        _id = await _server.PublishAsync(_content, "f.bin");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private static ExternalProcess Cli(params string[] args) =>
        ExternalProcess.Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "webrtc-cdn.dll"), .. args]);

    [Fact]
    public async Task Fetch_by_url_writes_the_exact_bytes_and_reports_the_split()
    {
        var output = Path.Combine(_dir, "out.bin");
        await using var cli = Cli("fetch", new Uri(_server.BaseUri, $"/content/{_id}").ToString(), "-o", output, "--no-p2p");
        Assert.True(await cli.WaitForExitAsync(Timeout) == 0, cli.StandardError);
        Assert.Equal(_content, await File.ReadAllBytesAsync(output));
        Assert.Contains("p2p 0  http 300000", cli.StandardOutput, StringComparison.Ordinal);
        Assert.False(File.Exists(output + ".part"));
    }

    [Fact]
    public async Task Fetch_takes_every_chunk_from_the_edge_over_webrtc()
    {
        var output = Path.Combine(_dir, "p2p.bin");
        await using var cli = Cli("fetch", new Uri(_server.BaseUri, $"/content/{_id}").ToString(), "-o", output);
        Assert.True(await cli.WaitForExitAsync(Timeout) == 0, cli.StandardError);
        Assert.Equal(_content, await File.ReadAllBytesAsync(output));
        Assert.Contains("p2p 300000  http 0", cli.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_by_id_with_server_and_unknown_content_exits_3()
    {
        var output = Path.Combine(_dir, "byid.bin");
        await using (var ok = Cli("fetch", _id, "--server", _server.BaseUri.ToString(), "-o", output, "-q"))
        {
            Assert.True(await ok.WaitForExitAsync(Timeout) == 0, ok.StandardError);
        }

        Assert.Equal(_content, await File.ReadAllBytesAsync(output));
        await using var missing = Cli("fetch", new string('a', 64), "--server", _server.BaseUri.ToString(), "-o", Path.Combine(_dir, "none.bin"));
        Assert.Equal(3, await missing.WaitForExitAsync(Timeout));
        Assert.Contains("404", missing.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not-an-id", "neither a content id")]
    [InlineData("ftp://host/content/x", "neither a content id")]
    [InlineData("http://host/elsewhere", "neither a content id")]
    public async Task Bad_sources_exit_2_with_one_line(string source, string expected)
    {
        await using var cli = Cli("fetch", source, "-o", Path.Combine(_dir, "x.bin"));
        Assert.Equal(2, await cli.WaitForExitAsync(Timeout));
        var line = Assert.Single(cli.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_output_bad_server_and_a_directory_as_output_exit_2()
    {
        await using (var noOutput = Cli("fetch", _id))
        {
            Assert.Equal(2, await noOutput.WaitForExitAsync(Timeout));
        }

        await using (var badServer = Cli("fetch", _id, "--server", "ftp://x", "-o", Path.Combine(_dir, "y.bin")))
        {
            Assert.Equal(2, await badServer.WaitForExitAsync(Timeout));
            Assert.Contains("--server", badServer.StandardError, StringComparison.Ordinal);
        }

        await using var directory = Cli("fetch", _id, "-o", _dir);
        Assert.Equal(2, await directory.WaitForExitAsync(Timeout));
        Assert.Contains("--output", directory.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreachable_server_exits_1()
    {
        await using var cli = Cli("fetch", _id, "--server", $"http://127.0.0.1:{FreePort.Tcp()}", "-o", Path.Combine(_dir, "z.bin"));
        Assert.Equal(1, await cli.WaitForExitAsync(Timeout));
        Assert.StartsWith("webrtc-cdn fetch:", cli.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stats_prints_the_live_document_and_fails_cleanly()
    {
        await using (var json = Cli("stats", "--server", _server.BaseUri.ToString(), "--json"))
        {
            Assert.True(await json.WaitForExitAsync(Timeout) == 0, json.StandardError);
            using var document = System.Text.Json.JsonDocument.Parse(json.StandardOutput);
            Assert.True(document.RootElement.TryGetProperty("total_peers", out _));
        }

        await using (var table = Cli("stats", "--server", _server.BaseUri.ToString()))
        {
            Assert.Equal(0, await table.WaitForExitAsync(Timeout));
            Assert.Contains("bytes_delivered", table.StandardOutput, StringComparison.Ordinal);
        }

        await using (var bad = Cli("stats", "--server", "nope"))
        {
            Assert.Equal(2, await bad.WaitForExitAsync(Timeout));
        }

        await using var down = Cli("stats", "--server", $"http://127.0.0.1:{FreePort.Tcp()}");
        Assert.Equal(1, await down.WaitForExitAsync(Timeout));
    }

    [Theory]
    [InlineData("fetch")]
    [InlineData("stats")]
    public async Task Help_is_available(string verb)
    {
        await using var cli = Cli(verb, "--help");
        Assert.Equal(0, await cli.WaitForExitAsync(Timeout));
        Assert.Contains("--server", cli.StandardOutput, StringComparison.Ordinal);
    }
}
