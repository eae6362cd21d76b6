using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using WebRtcCdn.Core.Content;
using WebRtcCdn.Core.Storage;

namespace WebRtcCdn.Core.Tests.Storage;

public sealed class ChunkStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "webrtc-cdn-store-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ChunkStore Open(long memory = 0, long disk = 1L << 30, TimeSpan? ttl = null, bool pinPublished = true) =>
        ChunkStore.Open(new ChunkStoreOptions { Directory = _dir, MemoryCacheSize = memory, MaxDiskSize = disk, ChunkTtl = ttl ?? TimeSpan.FromHours(24), PinPublished = pinPublished }, _time);

    private static (Sha256Digest Hash, byte[] Data) Chunk(int size = 1000)
    {
        var data = RandomNumberGenerator.GetBytes(size);
        return (Sha256Digest.Compute(data), data);
    }

    private string FileOf(Sha256Digest hash) => Path.Combine(_dir, "chunks", hash.ToHex()[..2], hash.ToHex());

    [Fact]
    public async Task Put_then_get_returns_the_bytes_from_both_tiers()
    {
        using var store = Open(memory: 1 << 20);
        var (hash, data) = Chunk();
        await store.PutAsync(hash, data, pinned: false);
        Assert.True(store.Contains(hash));
        Assert.Equal(data, (await store.GetAsync(hash))!.Value.ToArray());
        Assert.Equal(data, await File.ReadAllBytesAsync(FileOf(hash)));
        Assert.Null(await store.GetAsync(Sha256Digest.Compute("absent"u8)));
        Assert.Equal(1000, store.MemoryBytes);
        Assert.Equal(1000, store.DiskBytes);
    }

    [Fact]
    public async Task Data_that_does_not_match_its_hash_is_refused()
    {
        using var store = Open();
        var (hash, _) = Chunk();
        await Assert.ThrowsAsync<InvalidDataException>(async () => await store.PutAsync(hash, new byte[] { 1, 2, 3 }, pinned: false));
        Assert.False(store.Contains(hash));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.PutAsync(hash, Array.Empty<byte>(), pinned: false));
    }

    [Fact]
    public async Task A_corrupt_disk_file_is_evicted_and_reported_never_served()
    {
        using var store = Open();
        var (hash, data) = Chunk();
        await store.PutAsync(hash, data, pinned: false);
        var bytes = await File.ReadAllBytesAsync(FileOf(hash));
        bytes[500] ^= 0x01;
        await File.WriteAllBytesAsync(FileOf(hash), bytes);
        CorruptChunkEventArgs? reported = null;
        store.ChunkCorrupted += (_, e) => reported = e;

        Assert.Null(await store.GetAsync(hash));

        Assert.Equal(hash, reported!.Hash);
        Assert.Contains("SHA-256", reported.Reason, StringComparison.Ordinal);
        Assert.Equal(1, store.CorruptChunks);
        Assert.False(store.Contains(hash));
        Assert.False(File.Exists(FileOf(hash)));
    }

    [Fact]
    public async Task A_truncated_or_missing_disk_file_reads_as_a_miss()
    {
        using var store = Open();
        var (a, dataA) = Chunk();
        var (b, dataB) = Chunk();
        await store.PutAsync(a, dataA, pinned: false);
        await store.PutAsync(b, dataB, pinned: false);
        await File.WriteAllBytesAsync(FileOf(a), dataA[..10]);
        File.Delete(FileOf(b));

        Assert.Null(await store.GetAsync(a));
        Assert.Null(await store.GetAsync(b));
        Assert.Equal(1, store.CorruptChunks);
        Assert.Equal(0, store.ChunkCount);
    }

    [Fact]
    public async Task Restart_rebuilds_the_index_and_drops_temporary_and_foreign_files()
    {
        var (hash, data) = Chunk();
        var manifest = Manifest.Create("f.bin", "application/octet-stream", data.Length, Manifest.DefaultChunkSize, [hash]);
        using (var store = Open())
        {
            await store.PutAsync(hash, data, pinned: true);
            await store.SaveManifestAsync(manifest, StoredContentKind.Published);
            await store.SetAliasAsync("https://upstream/x", manifest.Id);
        }

        var temp = FileOf(hash) + ".abc.tmp";
        await File.WriteAllBytesAsync(temp, data[..100]);
        var foreign = Path.Combine(_dir, "chunks", "00", "not-a-hash");
        Directory.CreateDirectory(Path.GetDirectoryName(foreign)!);
        await File.WriteAllTextAsync(foreign, "x");
        await File.WriteAllTextAsync(Path.Combine(_dir, "published", "broken.json"), "{");

        using (var store = Open())
        {
            Assert.Equal(data, (await store.GetAsync(hash))!.Value.ToArray());
            Assert.Equal(manifest.Id, store.GetManifest(manifest.Id)!.Id);
            Assert.Equal(StoredContentKind.Published, store.GetKind(manifest.Id));
            Assert.Equal(manifest.Id, store.GetAlias("https://upstream/x"));
            Assert.Single(store.Manifests);
        }

        Assert.False(File.Exists(temp));
        Assert.False(File.Exists(foreign));
        Assert.False(File.Exists(Path.Combine(_dir, "published", "broken.json")));
    }

    [Fact]
    public async Task A_second_store_on_the_same_directory_is_refused()
    {
        using var store = Open();
        var e = Assert.Throws<IOException>(() => Open());
        Assert.Contains("in use", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disk_tier_evicts_least_recently_used_unpinned_chunks_over_its_bound()
    {
        using var store = Open(disk: 3000);
        var chunks = Enumerable.Range(0, 4).Select(_ => Chunk()).ToArray();
        await store.PutAsync(chunks[0].Hash, chunks[0].Data, pinned: false);
        await store.PutAsync(chunks[1].Hash, chunks[1].Data, pinned: false);
        await store.PutAsync(chunks[2].Hash, chunks[2].Data, pinned: false);
        Assert.NotNull(await store.GetAsync(chunks[0].Hash)); // 0 is now more recent than 1

        await store.PutAsync(chunks[3].Hash, chunks[3].Data, pinned: false);

        Assert.True(store.Contains(chunks[0].Hash));
        Assert.False(store.Contains(chunks[1].Hash));
        Assert.False(File.Exists(FileOf(chunks[1].Hash)));
        Assert.Equal(3000, store.DiskBytes);
    }

    [Fact]
    public async Task Published_chunks_are_pinned_across_restarts_unless_configured_otherwise()
    {
        var pinned = Chunk();
        var manifest = Manifest.Create("p.bin", "application/octet-stream", pinned.Data.Length, Manifest.DefaultChunkSize, [pinned.Hash]);
        using (var store = Open(disk: 2000))
        {
            await store.PutAsync(pinned.Hash, pinned.Data, pinned: true);
            await store.SaveManifestAsync(manifest, StoredContentKind.Published);
            for (var i = 0; i < 5; i++)
            {
                var c = Chunk();
                await store.PutAsync(c.Hash, c.Data, pinned: false);
            }

            Assert.True(store.Contains(pinned.Hash));
        }

        using (var store = Open(disk: 2000))
        {
            for (var i = 0; i < 3; i++)
            {
                var c = Chunk();
                await store.PutAsync(c.Hash, c.Data, pinned: false);
            }

            Assert.True(store.Contains(pinned.Hash));
            _time.Advance(TimeSpan.FromDays(30));
            store.SweepExpired();
            Assert.NotNull(await store.GetAsync(pinned.Hash));
        }

        using (var store = Open(disk: 1500, pinPublished: false))
        {
            for (var i = 0; i < 3; i++)
            {
                var c = Chunk();
                await store.PutAsync(c.Hash, c.Data, pinned: false);
            }

            Assert.False(store.Contains(pinned.Hash));
        }
    }

    [Fact]
    public async Task Unpinned_chunks_expire_after_the_ttl_even_across_a_restart()
    {
        var old = Chunk();
        var fresh = Chunk();
        using (var store = Open(memory: 1 << 20, ttl: TimeSpan.FromHours(1)))
        {
            await store.PutAsync(old.Hash, old.Data, pinned: false);
            _time.Advance(TimeSpan.FromMinutes(50));
            await store.PutAsync(fresh.Hash, fresh.Data, pinned: false);
        }

        _time.Advance(TimeSpan.FromMinutes(20));
        using (var store = Open(memory: 1 << 20, ttl: TimeSpan.FromHours(1)))
        {
            Assert.Null(await store.GetAsync(old.Hash));
            Assert.NotNull(await store.GetAsync(fresh.Hash));
            _time.Advance(TimeSpan.FromMinutes(41));
            Assert.Null(await store.GetAsync(fresh.Hash)); // served from memory before; expired now all the same
            Assert.Equal(0, store.ChunkCount);
        }
    }

    [Fact]
    public async Task Memory_tier_stays_within_its_byte_bound()
    {
        using var store = Open(memory: 2500);
        for (var i = 0; i < 10; i++)
        {
            var c = Chunk();
            await store.PutAsync(c.Hash, c.Data, pinned: false);
            Assert.True(store.MemoryBytes <= 2500);
        }

        Assert.Equal(2000, store.MemoryBytes);
    }

    [Fact]
    public async Task Concurrent_readers_and_writers_see_only_whole_verified_chunks()
    {
        using var store = Open(memory: 20_000, disk: 40_000);
        var chunks = Enumerable.Range(0, 60).Select(_ => Chunk(997)).ToArray();
        var corrupt = 0;
        store.ChunkCorrupted += (_, _) => Interlocked.Increment(ref corrupt);
        var tasks = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker);
            for (var i = 0; i < 400; i++)
            {
                var (hash, data) = chunks[random.Next(chunks.Length)];
                if (random.Next(2) == 0)
                {
                    await store.PutAsync(hash, data, pinned: false);
                }
                else if (await store.GetAsync(hash) is { } got)
                {
                    Assert.True(got.Span.SequenceEqual(data));
                }
            }
        })).ToArray();
        await Task.WhenAll(tasks);

        Assert.Equal(0, corrupt);
        Assert.True(store.DiskBytes <= 40_000);
        Assert.Equal(store.ChunkCount * 997L, store.DiskBytes);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_dir, "chunks"), "*.tmp", SearchOption.AllDirectories));
    }
}
