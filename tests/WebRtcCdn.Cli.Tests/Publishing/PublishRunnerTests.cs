using System.Security.Cryptography;
using WebRtcCdn.Cli.Publishing;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Storage;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Cli.Tests.Publishing;

public sealed class PublishRunnerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("webrtc-cdn-cli-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string StoreDir => Path.Combine(_root, "store");

    private static async Task<(int Exit, string Out, string Err)> RunAsync(PublishOptions options, Action<string>? afterFile = null)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await new PublishRunner(options, output, error) { AfterFile = afterFile }.RunAsync(CancellationToken.None);
        return (exit, output.ToString(), error.ToString());
    }

    private string WriteFile(string relative, int size)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(size));
        return path;
    }

    [Fact]
    public async Task A_file_is_published_into_a_store_and_its_id_printed()
    {
        var file = WriteFile("video.mp4", 100_000);
        var (exit, output, error) = await RunAsync(new PublishOptions { Paths = [file], Store = StoreDir, ChunkSize = 16 << 10 });

        Assert.Equal(0, exit);
        Assert.Equal(string.Empty, error);
        var expected = await new ContentPublisher(16 << 10).PublishAsync(File.OpenRead(file), "video.mp4", "video/mp4");
        Assert.StartsWith($"{expected.Id}  /content/{expected.Id}  video.mp4", output, StringComparison.Ordinal);

        using var store = ChunkStore.Open(new ChunkStoreOptions { Directory = StoreDir });
        var manifest = store.GetManifest(expected.Id)!;
        Assert.Equal(7, manifest.ChunkCount);
        var data = await File.ReadAllBytesAsync(file);
        for (var i = 0; i < manifest.ChunkCount; i++)
        {
            var chunk = await store.GetAsync(manifest.Chunks[i]);
            Assert.Equal(data.AsSpan((int)manifest.ChunkOffset(i), manifest.ChunkLength(i)).ToArray(), chunk!.Value.ToArray());
        }
    }

    [Fact]
    public async Task A_directory_is_published_file_by_file_with_relative_names()
    {
        WriteFile("site/index.html", 10);
        WriteFile("site/media/a.webm", 40_000);
        WriteFile("site/media/deep/b.bin", 0);
        var (exit, output, _) = await RunAsync(new PublishOptions { Paths = [Path.Combine(_root, "site")], Store = StoreDir, ChunkSize = 16 << 10 });

        Assert.Equal(0, exit);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Contains(lines, l => l.Contains("  site/index.html (10 bytes, 1 chunks)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("  site/media/a.webm (40000 bytes, 3 chunks)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("  site/media/deep/b.bin (0 bytes, 0 chunks)", StringComparison.Ordinal));
        using var store = ChunkStore.Open(new ChunkStoreOptions { Directory = StoreDir });
        Assert.Equal(3, store.Manifests.Count);
        Assert.Contains(store.Manifests, m => m.Name == "site/media/a.webm" && m.MediaType == "video/webm");
    }

    [Fact]
    public async Task A_directory_that_disappears_mid_publish_is_a_clear_error()
    {
        for (var i = 0; i < 5; i++)
        {
            WriteFile($"batch/f{i}.bin", 20_000);
        }

        var (exit, output, error) = await RunAsync(
            new PublishOptions { Paths = [Path.Combine(_root, "batch")], Store = StoreDir, ChunkSize = 16 << 10 },
            afterFile: _ => Directory.Delete(Path.Combine(_root, "batch"), recursive: true));

        Assert.Equal(1, exit);
        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("disappeared", error, StringComparison.Ordinal);
        Assert.Contains("batch", error, StringComparison.Ordinal);
        using var store = ChunkStore.Open(new ChunkStoreOptions { Directory = StoreDir });
        Assert.Single(store.Manifests);
    }

    [Fact]
    public async Task Bad_arguments_are_clear_errors()
    {
        var (exit, _, error) = await RunAsync(new PublishOptions { Paths = [Path.Combine(_root, "nope.bin")], Store = StoreDir });
        Assert.Equal(1, exit);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);

        (exit, _, error) = await RunAsync(new PublishOptions { Paths = ["x"] });
        Assert.Equal(2, exit);
        Assert.Contains("--store", error, StringComparison.Ordinal);

        (exit, _, error) = await RunAsync(new PublishOptions { Paths = ["-"], Store = StoreDir });
        Assert.Equal(1, exit);
        Assert.Contains("--name", error, StringComparison.Ordinal);

        var bad = WriteFile("bad\u0001name.bin", 10);
        (exit, _, error) = await RunAsync(new PublishOptions { Paths = [bad], Store = StoreDir });
        Assert.Equal(1, exit);
        Assert.Contains("control character", error, StringComparison.Ordinal);

        using (ChunkStore.Open(new ChunkStoreOptions { Directory = StoreDir }))
        {
            var file = WriteFile("x.bin", 10);
            (exit, _, error) = await RunAsync(new PublishOptions { Paths = [file], Store = StoreDir });
            Assert.Equal(1, exit);
            Assert.Contains("--server", error, StringComparison.Ordinal);
        }

        var keyFile = WriteFile("not-a-key.pem", 10);
        (exit, _, error) = await RunAsync(new PublishOptions { Paths = [keyFile], Store = StoreDir, SigningKey = keyFile });
        Assert.Equal(1, exit);
        Assert.StartsWith("webrtc-cdn publish: ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_signing_key_signs_the_manifests()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var keyFile = Path.Combine(_root, "publisher.key");
        await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem());
        var file = WriteFile("a.txt", 5);
        var (exit, _, _) = await RunAsync(new PublishOptions { Paths = [file], Store = StoreDir, SigningKey = keyFile });
        Assert.Equal(0, exit);
        using var store = ChunkStore.Open(new ChunkStoreOptions { Directory = StoreDir });
        Assert.True(ManifestSignature.Verify(store.Manifests.Single(), key));
    }

    [Fact]
    public async Task Publishing_to_a_server_streams_the_file_and_prints_its_urls()
    {
        const string Token = "cli-test-token-0123456789";
        var serverStore = Path.Combine(_root, "server-store");
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Content.StorePath = serverStore;
            o.Content.PublishToken = Token;
        });
        var file = WriteFile("clip.mp4", 300_000);

        var (exit, output, error) = await RunAsync(new PublishOptions { Paths = [file], Server = server.BaseUri, Token = Token });
        Assert.True(exit == 0, error);
        var parts = output.Split("  ");
        Assert.Equal(new Uri(server.BaseUri, $"/content/{parts[0]}").ToString(), parts[1]);
        using var http = server.CreateClient();
        Assert.Equal(await File.ReadAllBytesAsync(file), await http.GetByteArrayAsync(parts[1]));

        (exit, _, error) = await RunAsync(new PublishOptions { Paths = [file], Server = server.BaseUri, Token = "wrong-token-wrong-token" });
        Assert.Equal(1, exit);
        Assert.Contains("401", error, StringComparison.Ordinal);
    }
}
