using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Core.Scheduling;
using WebRtcCdn.Core.Storage;
using WebRtcCdn.Core.Wire;
using WebRtcCdn.Rtc.PeerConnection;
using WebRtcCdn.Server.Edge;
using WebRtcCdn.Server.Origin;

namespace WebRtcCdn.Server.Tests.Edge;

/// <summary>
/// The edge pulls chunks it lacks from its other peers (real RTC over loopback, native peers through POST /rtc/offer):
/// it holds the manifest and part of the chunks, a peer holds the rest, another peer downloads everything through the edge.
/// </summary>
public sealed class EdgePeerPullTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    /// <summary>Five chunks; the edge holds the first two.</summary>
    private const int Size = (4 * EdgeFixture.ChunkSize) + 99;

    private const int EdgeHolds = 2;

    private readonly byte[] _data = RandomNumberGenerator.GetBytes(Size);
    private readonly List<IAsyncDisposable> _owned = [];
    private EdgeFixture _edge = null!;
    private Manifest _manifest = null!;
    private string _dir = null!;
    private HttpClient _http = null!;

    private static RtcConfiguration Loopback => new() { BindAddress = System.Net.IPAddress.Loopback };

    private EdgeSeeder Seeder => _edge.Server.Services.GetRequiredService<EdgeSeeder>();

    public async Task InitializeAsync()
    {
        _edge = await EdgeFixture.StartAsync(size: 1000);
        _http = _edge.Server.CreateClient();
        _dir = Directory.CreateTempSubdirectory("webrtc-cdn-edge-peer-pull-").FullName;
        var hashes = Enumerable.Range(0, 5).Select(i => Sha256Digest.Compute(Chunk(i).Span)).ToList();
        _manifest = Manifest.Create("partial.bin", "application/octet-stream", Size, EdgeFixture.ChunkSize, hashes);
        var store = _edge.Server.Services.GetRequiredService<OriginContent>().Store;
        for (var i = 0; i < EdgeHolds; i++)
        {
            await store.PutAsync(hashes[i], Chunk(i), pinned: true);
        }

        await store.SaveManifestAsync(_manifest, StoredContentKind.Published);
    }

    public async Task DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }

        _http.Dispose();
        await _edge.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_peer_downloads_everything_through_the_edge_which_pulls_the_chunks_it_lacks_from_another_peer()
    {
        var holder = await ConnectHolderAsync(poisoned: false);
        var (result, bytes) = await DownloadThroughEdgeAsync();

        Assert.Equal(_data, bytes);
        Assert.Equal(Size, result.BytesFromPeers);
        Assert.Equal(5 - EdgeHolds, Seeder.ChunksPulledFromPeers);
        Assert.Equal(0, Seeder.PeersDisconnectedForBadChunks);
        Assert.True(_edge.Server.Services.GetRequiredService<OriginContent>().IsComplete(_manifest)); // stored, verified
        Assert.False(holder.IsClosed);
    }

    [Fact]
    public async Task A_peer_that_sends_a_bad_chunk_is_disconnected_and_the_chunk_comes_from_another_holder()
    {
        var poisoner = await ConnectHolderAsync(poisoned: true); // registered first: the edge asks it first
        await ConnectHolderAsync(poisoned: false);
        var (result, bytes) = await DownloadThroughEdgeAsync();

        Assert.Equal(_data, bytes);
        Assert.Equal(Size, result.BytesFromPeers);
        await poisoner.Closed.WaitAsync(Guard); // the edge hung up on it
        Assert.True(Seeder.PeersDisconnectedForBadChunks >= 1);
        Assert.Equal(5 - EdgeHolds, Seeder.ChunksPulledFromPeers);
    }

    [Fact]
    public async Task A_chunk_nobody_holds_is_rejected_as_not_found()
    {
        // The holder has chunk 2 only: 3 and 4 are nowhere.
        await ConnectHolderAsync(poisoned: false, holds: i => i == 2);
        var asker = await ConnectAsync(new Source(_ => null, _ => false));
        await AdvertisedAsync(asker, 0, 1, 2); // the edge knows its holder now (HELLO or HAVE)
        Assert.False(asker.RemoteHas(3));

        var held = await asker.DownloadChunkAsync(0).WaitAsync(Guard);
        Assert.Equal(Chunk(0).ToArray(), held);
        var pulled = await asker.DownloadChunkAsync(2).WaitAsync(Guard);
        Assert.Equal(Chunk(2).ToArray(), pulled);
        var missing = await Assert.ThrowsAsync<PeerRequestException>(() => asker.DownloadChunkAsync(3).WaitAsync(Guard));
        Assert.Equal(RequestFailure.Rejected, missing.Failure);
        Assert.Equal(RejectReason.NotFound, missing.Reason);
        Assert.False(asker.IsClosed);
    }

    [Fact]
    public async Task When_the_only_holder_sends_a_bad_chunk_it_is_disconnected_and_the_asker_gets_not_found()
    {
        var poisoner = await ConnectHolderAsync(poisoned: true);
        var asker = await ConnectAsync(new Source(_ => null, _ => false));
        await AdvertisedAsync(asker, 2);

        var refused = await Assert.ThrowsAsync<PeerRequestException>(() => asker.DownloadChunkAsync(2).WaitAsync(Guard));
        Assert.Equal(RejectReason.NotFound, refused.Reason);
        await poisoner.Closed.WaitAsync(Guard);
        Assert.Equal(1, Seeder.PeersDisconnectedForBadChunks);
        Assert.Equal(0, Seeder.ChunksPulledFromPeers);
        Assert.False(asker.IsClosed);
    }

    [Fact]
    public async Task Concurrent_askers_of_a_missing_chunk_share_one_pull()
    {
        var holder = await ConnectHolderAsync(poisoned: false);
        var askers = new List<PeerSession>();
        for (var i = 0; i < 3; i++)
        {
            var asker = await ConnectAsync(new Source(_ => null, _ => false));
            await AdvertisedAsync(asker, 2);
            askers.Add(asker);
        }

        var chunks = await Task.WhenAll(askers.Select(a => a.DownloadChunkAsync(2))).WaitAsync(Guard);

        Assert.All(chunks, c => Assert.Equal(Chunk(2).ToArray(), c));
        Assert.Equal(1, Seeder.ChunksPulledFromPeers);
        Assert.Equal(EdgeFixture.ChunkSize, holder.BytesUploaded); // the holder sent it once
    }

    private ReadOnlyMemory<byte> Chunk(int index)
    {
        var offset = index * EdgeFixture.ChunkSize;
        return _data.AsMemory(offset, Math.Min(EdgeFixture.ChunkSize, Size - offset));
    }

    private async Task<PeerSession> ConnectHolderAsync(bool poisoned, Func<int, bool>? holds = null)
    {
        holds ??= i => i >= EdgeHolds;
        return await ConnectAsync(new Source(
            i =>
            {
                if (!poisoned)
                {
                    return Chunk(i);
                }

                var bad = Chunk(i).ToArray();
                bad[^1] ^= 0x01;
                return bad;
            },
            holds));
    }

    private async Task<PeerSession> ConnectAsync(IChunkSource source)
    {
        var client = await EdgeOfferClient.ConnectAsync(_http, _edge.Server.BaseUri, _manifest.Id, null, Loopback, CancellationToken.None).WaitAsync(Guard);
        _owned.Add(client);
        var session = new PeerSession(new RtcDataChannelPeerChannel(client.Channel), _manifest, source);
        _owned.Add(session);
        _ = session.StartAsync();
        await session.Ready.WaitAsync(Guard);
        return session;
    }

    private async Task<(DownloadProgress Result, byte[] Bytes)> DownloadThroughEdgeAsync()
    {
        using var http = _edge.Server.CreateClient();
        var output = Path.Combine(_dir, "out.bin");
        await using var downloader = await Downloader.OpenAsync(http, new DownloaderOptions { Origin = _edge.Server.BaseUri, ContentId = _manifest.Id, OutputPath = output, DisableHttpChunks = true });
        await using var client = await EdgeOfferClient.ConnectAsync(http, _edge.Server.BaseUri, _manifest.Id, null, Loopback, CancellationToken.None).WaitAsync(Guard);
        await using var session = new PeerSession(new RtcDataChannelPeerChannel(client.Channel), downloader.Manifest, downloader.ChunkSource);
        _ = session.StartAsync();
        await AdvertisedAsync(session, [.. Enumerable.Range(0, 5)]);
        downloader.AddPeer(session);
        var result = await downloader.RunAsync().WaitAsync(Guard);
        return (result, await File.ReadAllBytesAsync(output));
    }

    /// <summary>Waits until the remote (the edge) announced these chunks, in its HELLO or by HAVE.</summary>
    private static async Task AdvertisedAsync(PeerSession session, params int[] chunks)
    {
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check(PeerSession s, int chunk)
        {
            if (chunks.All(s.RemoteHas))
            {
                all.TrySetResult();
            }
        }

        session.RemoteHaveReceived += Check;
        await session.Ready.WaitAsync(Guard);
        Check(session, -1);
        try
        {
            await all.Task.WaitAsync(Guard);
        }
        catch (TimeoutException)
        {
            Assert.Fail("the edge advertised only " + string.Join(',', Enumerable.Range(0, session.Manifest.ChunkCount).Where(session.RemoteHas)));
        }

        session.RemoteHaveReceived -= Check;
    }

    private sealed class Source(Func<int, ReadOnlyMemory<byte>?> get, Func<int, bool> has) : IChunkSource
    {
        public bool Has(int chunkIndex) => has(chunkIndex);

        public ValueTask<ReadOnlyMemory<byte>?> GetAsync(int chunkIndex, CancellationToken cancellationToken) =>
            ValueTask.FromResult(has(chunkIndex) ? get(chunkIndex) : null);
    }
}
