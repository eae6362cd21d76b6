using System.Net;
using System.Security.Cryptography;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Core.Scheduling;
using WebRtcCdn.Core.Signaling.Client;
using WebRtcCdn.Core.Swarming;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Core.Tests.Swarming;

/// <summary>
/// Two native swarm members meet through the real signaling server and move a file over real RTC connections
/// (full ICE on loopback sockets): the joiner offers, the member already there answers.
/// </summary>
public sealed class NativeSwarmTests : IAsyncLifetime
{
    private const string PublishToken = "native-swarm-publish-token";
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "webrtc-cdn-native-swarm-" + Guid.NewGuid().ToString("N"));
    private TestServer _server = null!;
    private byte[] _content = null!;
    private Manifest _manifest = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _server = await TestServer.StartAsync(o =>
        {
            o.Content.StorePath = Path.Combine(_dir, "store");
            o.Content.PublishToken = PublishToken;
            o.P2P.ChunkSize = 64 << 10;
        });
        _content = RandomNumberGenerator.GetBytes((5 * (64 << 10)) + 1234);
        using var http = _server.CreateClient();
        Assert.True(ContentId.TryParse(await _server.PublishAsync(_content, "native.bin"), out var id));
        _manifest = await Downloader.FetchManifestAsync(http, _server.BaseUri, id, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_native_downloader_gets_every_byte_from_a_native_seeder_through_signaling()
    {
        await using var seedSignaling = new NativeSignalingClient(_server.BaseUri);
        await seedSignaling.ConnectAsync().WaitAsync(Guard);
        await using var seeder = new NativeSwarm(seedSignaling, _manifest, new MemoryChunkSource(_manifest, _content)) { WantsPeers = () => false };
        Assert.Empty(await seeder.StartAsync().WaitAsync(Guard));

        using var http = _server.CreateClient();
        var output = Path.Combine(_dir, "out.bin");
        await using var downloader = await Downloader.OpenAsync(http, new DownloaderOptions { Origin = _server.BaseUri, ContentId = _manifest.Id, OutputPath = output, DisableHttpChunks = true });
        await using var fetchSignaling = new NativeSignalingClient(_server.BaseUri);
        await fetchSignaling.ConnectAsync().WaitAsync(Guard);
        await using var fetcher = new NativeSwarm(fetchSignaling, _manifest, downloader.ChunkSource);
        var ready = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        fetcher.SessionReady += (session, remote) =>
        {
            downloader.AddPeer(session);
            ready.TrySetResult(remote);
        };
        var candidates = await fetcher.StartAsync().WaitAsync(Guard);
        Assert.Equal(seedSignaling.PeerId, Assert.Single(candidates).PeerId);
        Assert.Equal(seedSignaling.PeerId, await ready.Task.WaitAsync(Guard));

        var result = await downloader.RunAsync().WaitAsync(Guard);
        Assert.Equal(_content.Length, result.BytesFromPeers);
        Assert.Equal(0, result.BytesFromHttp);
        Assert.Equal(_content, await File.ReadAllBytesAsync(output));
        Assert.True(seeder.BytesUploaded >= _content.Length);
        Assert.Equal(1, seeder.Links);
    }

    /// <summary>A seeder's chunks in memory (the test's own copy of the content).</summary>
    internal sealed class MemoryChunkSource(Manifest manifest, byte[] content) : IChunkSource
    {
        public bool Has(int chunkIndex) => chunkIndex >= 0 && chunkIndex < manifest.ChunkCount;

        public ValueTask<ReadOnlyMemory<byte>?> GetAsync(int chunkIndex, CancellationToken cancellationToken) =>
            ValueTask.FromResult<ReadOnlyMemory<byte>?>(content.AsMemory((int)manifest.ChunkOffset(chunkIndex), manifest.ChunkLength(chunkIndex)));
    }
}
