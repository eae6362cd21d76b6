using Microsoft.Extensions.Time.Testing;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Core.Scheduling;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Core.Tests.Scheduling;

/// <summary>
/// What scheduling costs on a large manifest: 4096 chunks from real in-memory peer sessions, one peer announcing every chunk
/// again and another announcing each chunk as soon as the download has it. Counts passes, never times them.
/// </summary>
public sealed class DownloaderPassTests : IAsyncLifetime
{
    private const string Token = "downloader-pass-test-token-01234";
    private const int ChunkSize = Manifest.MinChunkSize;
    private const int Chunks = 4096;
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(120);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "webrtc-cdn-dl-pass-" + Guid.NewGuid().ToString("N"));
    private readonly List<PeerSession> _sessions = [];
    private TestServer _server = null!;
    private byte[] _content = null!;
    private ContentId _id;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _server = await TestServer.StartAsync(o =>
        {
            o.Content.StorePath = Path.Combine(_dir, "store");
            o.Content.PublishToken = Token;
            o.P2P.ChunkSize = ChunkSize;
        });
        _content = new byte[Chunks * ChunkSize];
        new Random(11).NextBytes(_content);
        Assert.True(ContentId.TryParse(await _server.PublishAsync(_content, "large.bin"), out _id));
    }

    public async Task DisposeAsync()
    {
        foreach (var session in _sessions)
        {
            await session.DisposeAsync();
        }

        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_4096_chunk_download_runs_one_pass_per_transfer_and_haves_for_chunks_it_has_wake_nothing()
    {
        using var http = _server.CreateClient();
        var clock = new FakeTimeProvider(); // never advanced: no idle re-check passes, no session timers
        var output = Path.Combine(_dir, "large.bin");
        await using var downloader = await Downloader.OpenAsync(http, new DownloaderOptions { Origin = _server.BaseUri, ContentId = _id, OutputPath = output, DisableHttpChunks = true, Time = clock });
        Assert.Equal(Chunks, downloader.Manifest.ChunkCount);

        // A seeder holding everything, and a follower that holds nothing yet and announces each chunk once the download has it.
        var followerHolds = new bool[Chunks];
        var (seeder, fromSeeder) = await ConnectAsync(downloader, new ArraySource(downloader.Manifest, _content, _ => true), clock);
        var (follower, fromFollower) = await ConnectAsync(downloader, new ArraySource(downloader.Manifest, _content, i => Volatile.Read(ref followerHolds[i])), clock);
        downloader.AddPeer(fromSeeder);
        downloader.AddPeer(fromFollower);
        var followerHaves = 0;
        var allFollowerHaves = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fromFollower.RemoteHaveReceived += (_, _) => // after the downloader's own handler (subscribed first)
        {
            if (Interlocked.Increment(ref followerHaves) == Chunks)
            {
                allFollowerHaves.TrySetResult();
            }
        };

        var announced = 0;
        var progress = new SyncProgress(_ =>
        {
            // Reported on the scheduler's loop after a chunk is marked done: the follower's HAVEs are for chunks the download has.
            while (announced < Chunks && downloader.ChunkSource.Has(announced))
            {
                Volatile.Write(ref followerHolds[announced], true);
                follower.AnnounceHave(announced++);
            }
        });
        var run = downloader.RunAsync(progress);
        for (var i = 0; i < Chunks; i++)
        {
            seeder.AnnounceHave(i); // every one repeats its HELLO: no event, no wake
        }

        var final = await run.WaitAsync(Guard);
        await allFollowerHaves.Task.WaitAsync(Guard);

        Assert.Equal(_content, await File.ReadAllBytesAsync(output));
        Assert.Equal(_content.Length, final.BytesFromPeers);
        Assert.Equal(0, downloader.HaveWakes);
        // One pass to start, then one per finished transfer: the 2 x 4096 HAVEs added none (a few spare for AddPeer wakes).
        Assert.InRange(downloader.Passes, Chunks, Chunks + 8);
    }

    private async Task<(PeerSession Serving, PeerSession Fetching)> ConnectAsync(Downloader downloader, IChunkSource source, TimeProvider clock)
    {
        var (a, b) = InMemoryPeerChannel.CreatePair();
        var serving = new PeerSession(a, downloader.Manifest, source, time: clock);
        var fetching = new PeerSession(b, downloader.Manifest, downloader.ChunkSource, time: clock);
        _sessions.Add(serving);
        _sessions.Add(fetching);
        _ = serving.StartAsync();
        _ = fetching.StartAsync();
        await fetching.Ready.WaitAsync(Guard);
        return (serving, fetching);
    }

    private sealed class SyncProgress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }

    private sealed class ArraySource(Manifest manifest, byte[] content, Func<int, bool> holds) : IChunkSource
    {
        public bool Has(int chunkIndex) => holds(chunkIndex);

        public ValueTask<ReadOnlyMemory<byte>?> GetAsync(int chunkIndex, CancellationToken cancellationToken) =>
            ValueTask.FromResult<ReadOnlyMemory<byte>?>(holds(chunkIndex) ? content.AsMemory((int)manifest.ChunkOffset(chunkIndex), manifest.ChunkLength(chunkIndex)) : null);
    }
}
