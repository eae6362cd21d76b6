using WebRtcCdn.Testing;

namespace WebRtcCdn.Cli.Tests.Publishing;

/// <summary>`webrtc-cdn publish` as a user runs it: argument errors are one line and exit code 2.</summary>
public sealed class PublishCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static ExternalProcess Cli(params string[] args) =>
        ExternalProcess.Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "webrtc-cdn.dll"), .. args]);

    [Theory]
    [InlineData("--chunk-size", "1KB", "--chunk-size")]
    [InlineData("--chunk-size", "lots", "--chunk-size")]
    [InlineData("--server", "ftp://example.com", "--server")]
    public async Task Bad_options_exit_2_with_one_line(string option, string value, string expected)
    {
        await using var cli = Cli("publish", "some.file", "--store", Path.GetTempPath(), option, value);
        Assert.Equal(2, await cli.WaitForExitAsync(Timeout));
        var line = Assert.Single(cli.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publishing_standard_input_prints_its_id()
    {
        var store = Path.Combine(Path.GetTempPath(), "webrtc-cdn-stdin-" + Guid.NewGuid().ToString("N"));
        try
        {
            var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "webrtc-cdn.dll"), "publish", "-", "--name", "hello.txt", "--store", store })
            {
                start.ArgumentList.Add(arg);
            }

            using var process = System.Diagnostics.Process.Start(start)!;
            await process.StandardInput.WriteAsync("hello, world\n");
            process.StandardInput.Close();
            using var guard = new CancellationTokenSource(Timeout);
            var output = await process.StandardOutput.ReadToEndAsync(guard.Token);
            var error = await process.StandardError.ReadToEndAsync(guard.Token);
            await process.WaitForExitAsync(guard.Token);
            Assert.True(process.ExitCode == 0, error);
            // The id of tests/vectors/manifests.json case "tiny-text": the same bytes, name, type and chunk size.
            Assert.StartsWith("07c5664f9d9c289e49429fa6ba33d76f61d5145553ce7096024b197c73f5fe84  /content/07c5664f", output, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(store))
            {
                Directory.Delete(store, recursive: true);
            }
        }
    }
}
