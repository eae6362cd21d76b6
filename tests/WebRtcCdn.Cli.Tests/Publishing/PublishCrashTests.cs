using System.Diagnostics;
using System.Security.Cryptography;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Storage;

namespace WebRtcCdn.Cli.Tests.Publishing;

/// <summary>
/// Kills a real <c>webrtc-cdn publish</c> process while it writes chunks into a store, restarts the store, and
/// checks that the rebuilt index serves every chunk the process reported as stored, verified, and nothing corrupt.
/// </summary>
public sealed class PublishCrashTests : IDisposable
{
    private readonly string _store = Path.Combine(Path.GetTempPath(), "webrtc-cdn-crash-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_store))
        {
            Directory.Delete(_store, recursive: true);
        }
    }

    [Fact]
    public async Task Killing_the_publisher_mid_write_never_leaves_a_servable_corrupt_chunk()
    {
        var reported = new List<Sha256Digest>();
        for (var round = 0; round < 3; round++)
        {
            reported.AddRange(await PublishUntilKilledAsync(chunksBeforeKill: 40 + (round * 17)));
        }

        using var store = ChunkStore.Open(new ChunkStoreOptions { Directory = _store, MemoryCacheSize = 0 });
        Assert.Empty(Directory.EnumerateFiles(_store, "*.tmp", SearchOption.AllDirectories));
        Assert.Empty(store.Manifests); // no publish completed, so no content was announced
        foreach (var hash in reported)
        {
            var data = await store.GetAsync(hash);
            Assert.NotNull(data);
            Assert.Equal(hash, Sha256Digest.Compute(data.Value.Span));
        }

        // Every file in the rebuilt index, reported or caught mid-rename, reads back verified.
        foreach (var file in Directory.EnumerateFiles(Path.Combine(_store, "chunks"), "*", SearchOption.AllDirectories))
        {
            Assert.True(Sha256Digest.TryParseHex(Path.GetFileName(file), out var hash));
            Assert.NotNull(await store.GetAsync(hash));
        }

        Assert.Equal(0, store.CorruptChunks);
    }

    private async Task<List<Sha256Digest>> PublishUntilKilledAsync(int chunksBeforeKill)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "webrtc-cdn.dll");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { cli, "publish", "-", "--name", "endless.bin", "--store", _store, "--chunk-size", "16KB", "--verbose" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        using var stop = new CancellationTokenSource();
        // Feed an endless stream: the process is always mid-publish, and usually mid-write, when it is killed.
        var feeder = Task.Run(async () =>
        {
            var buffer = new byte[64 << 10];
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    RandomNumberGenerator.Fill(buffer);
                    await process.StandardInput.BaseStream.WriteAsync(buffer, stop.Token);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                // The process was killed: its stdin pipe is gone.
            }
        });

        var stored = new List<Sha256Digest>();
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (stored.Count < chunksBeforeKill)
        {
            var line = await process.StandardOutput.ReadLineAsync(guard.Token)
                ?? throw new InvalidOperationException($"publish exited early: {await process.StandardError.ReadToEndAsync()}");
            var parts = line.Split(' ');
            Assert.Equal("chunk", parts[0]);
            Assert.True(Sha256Digest.TryParseHex(parts[2], out var hash));
            stored.Add(hash);
        }

        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync(guard.Token);
        await stop.CancelAsync();
        await feeder;
        Assert.NotEqual(0, process.ExitCode);
        return stored;
    }
}
