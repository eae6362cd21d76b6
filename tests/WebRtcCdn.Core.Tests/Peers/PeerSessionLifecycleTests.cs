using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;

namespace WebRtcCdn.Core.Tests.Peers;

/// <summary>The PeerSession driver (actor loop over a real in-memory channel pair) after its peer is gone.</summary>
public sealed class PeerSessionLifecycleTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    private static (Manifest Manifest, byte[] Content) Content()
    {
        const int ChunkSize = 16 << 10;
        var content = new byte[4 * ChunkSize];
        new Random(3).NextBytes(content);
        var hashes = Enumerable.Range(0, 4).Select(i => Sha256Digest.Compute(content.AsSpan(i * ChunkSize, ChunkSize)));
        return (Manifest.Create("f.bin", "application/octet-stream", content.Length, ChunkSize, hashes), content);
    }

    [Fact]
    public async Task Requests_to_a_session_whose_peer_has_gone_fail_at_once_without_a_cancellation_token()
    {
        var (manifest, content) = Content();
        var (a, b) = InMemoryPeerChannel.CreatePair();
        var serving = new PeerSession(a, manifest, new Source(manifest, content));
        await using var fetching = new PeerSession(b, manifest, new Source(manifest, null));
        _ = serving.StartAsync();
        _ = fetching.StartAsync();
        await fetching.Ready.WaitAsync(Guard);
        Assert.Equal(content.AsSpan(0, 16 << 10).ToArray(), await fetching.DownloadChunkAsync(0).WaitAsync(Guard));

        // The peer goes away: the session's loop ends; a request made afterwards must not wait forever.
        await serving.DisposeAsync();
        await fetching.Closed.WaitAsync(Guard);
        var e = await Assert.ThrowsAsync<PeerRequestException>(() => fetching.DownloadChunkAsync(1).WaitAsync(Guard));
        Assert.Equal(RequestFailure.Closed, e.Failure);
        e = await Assert.ThrowsAsync<PeerRequestException>(() => fetching.DownloadChunkAsync(2).WaitAsync(Guard));
        Assert.Equal(RequestFailure.Closed, e.Failure);
    }

    [Fact]
    public async Task A_burst_of_haves_larger_than_the_input_queue_reaches_the_peer_in_full()
    {
        // 300 chunks announced at once: more than the session's bounded input queue holds (one queued command per HAVE
        // used to be dropped when it was full, so neighbours never learnt of those chunks).
        const int Chunks = 300;
        const int ChunkSize = 16 << 10;
        var content = new byte[Chunks * ChunkSize];
        new Random(5).NextBytes(content);
        var manifest = Manifest.Create("many.bin", "application/octet-stream", content.Length, ChunkSize,
            Enumerable.Range(0, Chunks).Select(i => Sha256Digest.Compute(content.AsSpan(i * ChunkSize, ChunkSize))));
        var (a, b) = InMemoryPeerChannel.CreatePair();
        var held = new HashSet<int>();
        await using var announcing = new PeerSession(a, manifest, new SetSource(held));
        await using var listening = new PeerSession(b, manifest, new SetSource([]));
        var seen = new HashSet<int>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        listening.RemoteHaveReceived += (_, chunk) =>
        {
            lock (seen)
            {
                if (seen.Add(chunk) && seen.Count == Chunks)
                {
                    all.TrySetResult();
                }
            }
        };
        _ = announcing.StartAsync();
        _ = listening.StartAsync();
        await announcing.Ready.WaitAsync(Guard);
        await listening.Ready.WaitAsync(Guard);

        lock (held)
        {
            for (var i = 0; i < Chunks; i++)
            {
                held.Add(i);
            }
        }

        for (var i = 0; i < Chunks; i++)
        {
            announcing.AnnounceHave(i);
            announcing.AnnounceHave(i); // a repeat merges, never queues twice
        }

        await all.Task.WaitAsync(Guard);
        Assert.Equal(Chunks, seen.Count);
        Assert.All(Enumerable.Range(0, Chunks), i => Assert.True(listening.RemoteHas(i), $"chunk {i} not known as held"));
    }

    private sealed class SetSource(HashSet<int> held) : IChunkSource
    {
        public bool Has(int chunkIndex)
        {
            lock (held)
            {
                return held.Contains(chunkIndex);
            }
        }

        public ValueTask<ReadOnlyMemory<byte>?> GetAsync(int chunkIndex, CancellationToken cancellationToken) =>
            ValueTask.FromResult<ReadOnlyMemory<byte>?>(null);
    }

    private sealed class Source(Manifest manifest, byte[]? content) : IChunkSource
    {
        public bool Has(int chunkIndex) => content is not null;

        public ValueTask<ReadOnlyMemory<byte>?> GetAsync(int chunkIndex, CancellationToken cancellationToken) =>
            ValueTask.FromResult<ReadOnlyMemory<byte>?>(content?.AsMemory((int)manifest.ChunkOffset(chunkIndex), manifest.ChunkLength(chunkIndex)));
    }
}
