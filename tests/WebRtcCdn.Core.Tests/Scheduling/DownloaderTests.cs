using Microsoft.Extensions.Time.Testing;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Core.Scheduling;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Core.Tests.Scheduling;

/// <summary>The downloader against the real server's origin HTTP and real in-memory peer sessions.</summary>
public sealed class DownloaderTests : IAsyncLifetime
{
    private const string Token = "downloader-test-token-0123456789";
    private const int ChunkSize = 64 << 10;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "webrtc-cdn-dl-" + Guid.NewGuid().ToString("N"));
    private TestServer _server = null!;
    private byte[] _content = null!;
    private ContentId _id;
    private readonly List<PeerSession> _servers = [];

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _server = await TestServer.StartAsync(o =>
        {
            o.Content.StorePath = Path.Combine(_dir, "store");
            o.Content.PublishToken = Token;
            o.P2P.ChunkSize = ChunkSize;
        });
        _content = new byte[(10 * ChunkSize) + 1234];
        new Random(7).NextBytes(_content);
        Assert.True(ContentId.TryParse(await _server.PublishAsync(_content, "file.bin"), out _id));
    }

    public async Task DisposeAsync()
    {
        foreach (var s in _servers)
        {
            await s.DisposeAsync();
        }

        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private DownloaderOptions Options(string name, bool noHttp = false, TimeProvider? time = null) =>
        new() { Origin = _server.BaseUri, ContentId = _id, OutputPath = Path.Combine(_dir, name), DisableHttpChunks = noHttp, Time = time ?? TimeProvider.System };

    [Fact]
    public async Task Http_only_download_is_byte_exact_and_leaves_no_sidecar()
    {
        using var http = _server.CreateClient();
        var options = Options("http.bin");
        await using var downloader = await Downloader.OpenAsync(http, options);
        var final = await downloader.RunAsync();
        Assert.Equal(_content, await File.ReadAllBytesAsync(options.OutputPath));
        Assert.Equal(_content.Length, final.BytesFromHttp);
        Assert.False(File.Exists(options.OutputPath + ".part.state"));
    }

    [Fact]
    public async Task Chunks_come_from_a_peer_when_one_holds_them_and_are_verified()
    {
        using var http = _server.CreateClient();
        var seederOptions = Options("seeder.bin");
        await using var seeder = await Downloader.OpenAsync(http, seederOptions);
        await seeder.RunAsync(); // the seeder now holds everything (its file is complete)
        var manifest = seeder.Manifest;

        var leech = Options("leech.bin", noHttp: true);
        await using var downloader = await Downloader.OpenAsync(http, leech);
        var (a, b) = InMemoryPeerChannel.CreatePair();
        await using var serving = new PeerSession(a, manifest, new ArraySource(manifest, _content));
        var fetching = new PeerSession(b, manifest, downloader.ChunkSource);
        _ = serving.StartAsync();
        _ = fetching.StartAsync();
        downloader.AddPeer(fetching);
        var final = await downloader.RunAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(_content, await File.ReadAllBytesAsync(leech.OutputPath));
        Assert.Equal(_content.Length, final.BytesFromPeers);
        Assert.Equal(0, final.BytesFromHttp);
    }

    [Fact]
    public async Task A_peer_sending_wrong_bytes_is_banned_and_http_fills_in()
    {
        using var http = _server.CreateClient();
        var manifest = await Downloader.FetchManifestAsync(http, _server.BaseUri, _id, CancellationToken.None);
        var corrupt = (byte[])_content.Clone();
        corrupt[5] ^= 0xFF; // chunk 0 is wrong
        var options = Options("banned.bin");
        await using var downloader = await Downloader.OpenAsync(http, options);
        var (a, b) = InMemoryPeerChannel.CreatePair();
        await using var liar = new PeerSession(a, manifest, new ArraySource(manifest, corrupt));
        var fetching = new PeerSession(b, manifest, downloader.ChunkSource);
        _ = liar.StartAsync();
        _ = fetching.StartAsync();
        await fetching.Ready.WaitAsync(TimeSpan.FromSeconds(30));
        downloader.AddPeer(fetching);
        var final = await downloader.RunAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(_content, await File.ReadAllBytesAsync(options.OutputPath));
        Assert.True(final.BytesFromHttp >= ChunkSize);
    }

    [Fact]
    public async Task An_interrupted_download_resumes_and_a_tampered_part_is_refetched()
    {
        using var http = _server.CreateClient();
        var options = Options("resume.bin");
        using (var cancel = new CancellationTokenSource())
        {
            await using var first = await Downloader.OpenAsync(http, new DownloaderOptions { Origin = options.Origin, ContentId = options.ContentId, OutputPath = options.OutputPath, MaxHttpConcurrency = 1 });
            var progress = new SyncProgress(p =>
            {
                if (p.ChunksDone >= 3)
                {
                    cancel.Cancel();
                }
            });
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.RunAsync(progress, cancel.Token));
        }

        Assert.True(File.Exists(options.OutputPath + ".part.state"));
        // Damage chunk 0 in the partial file: it must be fetched again, not trusted.
        await using (var part = File.OpenWrite(options.OutputPath + ".part"))
        {
            part.WriteByte(0x42);
        }

        await using var second = await Downloader.OpenAsync(http, options);
        Assert.InRange(second.Progress.ChunksDone, 2, 10);
        var final = await second.RunAsync();
        Assert.True(final.BytesResumed >= 2 * ChunkSize);
        Assert.Equal(_content, await File.ReadAllBytesAsync(options.OutputPath));
    }

    [Fact]
    public async Task Unknown_content_is_not_found()
    {
        using var http = _server.CreateClient();
        var options = new DownloaderOptions { Origin = _server.BaseUri, ContentId = new ContentId(Sha256Digest.Compute([1])), OutputPath = Path.Combine(_dir, "none.bin") };
        var error = await Assert.ThrowsAsync<DownloadException>(() => Downloader.OpenAsync(http, options));
        Assert.Equal(DownloadFailure.NotFound, error.Kind);
    }

    private sealed class SyncProgress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }

    private async Task<PeerSession> ConnectAsync(Downloader downloader, IChunkSource source)
    {
        var (a, b) = InMemoryPeerChannel.CreatePair();
        var serving = new PeerSession(a, downloader.Manifest, source);
        _servers.Add(serving);
        var fetching = new PeerSession(b, downloader.Manifest, downloader.ChunkSource);
        _ = serving.StartAsync();
        _ = fetching.StartAsync();
        await fetching.Ready.WaitAsync(TimeSpan.FromSeconds(30));
        return fetching;
    }

    [Fact]
    public async Task A_half_stocked_first_peer_does_not_send_the_rest_to_http_while_the_edge_is_still_connecting()
    {
        using var http = _server.CreateClient();
        var clock = new FakeTimeProvider(); // never advanced: the grace cannot run out, only arrivals end it
        var options = Options("grace.bin", time: clock);
        await using var downloader = await Downloader.OpenAsync(http, options);
        downloader.ExpectPeers(["viewer", "edge"]);
        var run = downloader.RunAsync(); // its first scheduling pass runs before this returns
        downloader.AddPeer(await ConnectAsync(downloader, new ArraySource(downloader.Manifest, _content, i => i % 2 == 0)), "viewer");
        downloader.AddPeer(await ConnectAsync(downloader, new ArraySource(downloader.Manifest, _content)), "edge");
        var final = await run.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(_content, await File.ReadAllBytesAsync(options.OutputPath));
        Assert.Equal(0, final.BytesFromHttp);
        Assert.Equal(_content.Length, final.BytesFromPeers);
    }

    [Fact]
    public async Task A_peer_added_before_its_hello_is_used_as_soon_as_the_hello_arrives()
    {
        using var http = _server.CreateClient();
        var clock = new FakeTimeProvider(); // never advanced: no idle re-check, only the HELLO can wake the scheduler
        var leech = Options("early.bin", noHttp: true, time: clock);
        await using var downloader = await Downloader.OpenAsync(http, leech);
        var (a, b) = InMemoryPeerChannel.CreatePair();
        var serving = new PeerSession(a, downloader.Manifest, new ArraySource(downloader.Manifest, _content), time: clock);
        _servers.Add(serving);
        var fetching = new PeerSession(b, downloader.Manifest, downloader.ChunkSource, time: clock);
        _ = fetching.StartAsync();
        downloader.AddPeer(fetching); // the remote has not said HELLO: it cannot be picked yet
        var run = downloader.RunAsync();
        Assert.False(fetching.Ready.IsCompleted);

        _ = serving.StartAsync();
        var final = await run.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(_content, await File.ReadAllBytesAsync(leech.OutputPath));
        Assert.Equal(_content.Length, final.BytesFromPeers);
    }

    [Fact]
    public async Task Http_takes_over_when_every_expected_peer_failed()
    {
        using var http = _server.CreateClient();
        var options = Options("failed.bin", time: new FakeTimeProvider());
        await using var downloader = await Downloader.OpenAsync(http, options);
        downloader.ExpectPeers(["a", "b"]);
        var run = downloader.RunAsync();
        downloader.PeerFailed("a");
        Assert.False(run.IsCompleted);
        downloader.PeerFailed("b");
        var final = await run.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(_content, await File.ReadAllBytesAsync(options.OutputPath));
        Assert.Equal(_content.Length, final.BytesFromHttp);
    }

    [Fact]
    public async Task Http_takes_over_when_the_grace_runs_out_and_a_connected_peer_still_serves_what_it_holds()
    {
        using var http = _server.CreateClient();
        var clock = new FakeTimeProvider();
        var options = Options("late.bin", time: clock);
        await using var downloader = await Downloader.OpenAsync(http, options);
        downloader.ExpectPeers(["viewer", "never"]);
        downloader.AddPeer(await ConnectAsync(downloader, new ArraySource(downloader.Manifest, _content, i => i < 3)), "viewer");
        var run = downloader.RunAsync();
        clock.Advance(options.PeerGrace);
        var final = await run.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(_content, await File.ReadAllBytesAsync(options.OutputPath));
        Assert.Equal(3 * ChunkSize, final.BytesFromPeers);
        Assert.Equal(_content.Length - (3 * ChunkSize), final.BytesFromHttp);
    }

    [Fact]
    public async Task Without_expected_peers_http_starts_at_once()
    {
        using var http = _server.CreateClient();
        var options = Options("nobody.bin", time: new FakeTimeProvider());
        await using var downloader = await Downloader.OpenAsync(http, options);
        downloader.ExpectPeers([]);
        var final = await downloader.RunAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(_content.Length, final.BytesFromHttp);
    }

    private sealed class ArraySource(Manifest manifest, byte[] content, Func<int, bool>? holds = null) : IChunkSource
    {
        public bool Has(int chunkIndex) => holds?.Invoke(chunkIndex) ?? true;

        public ValueTask<ReadOnlyMemory<byte>?> GetAsync(int chunkIndex, CancellationToken cancellationToken) =>
            ValueTask.FromResult<ReadOnlyMemory<byte>?>(content.AsMemory((int)manifest.ChunkOffset(chunkIndex), manifest.ChunkLength(chunkIndex)));
    }
}
