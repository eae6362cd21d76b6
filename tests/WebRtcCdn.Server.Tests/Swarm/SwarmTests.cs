using System.Net;
using System.Net.Sockets;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Swarm;

/// <summary>
/// The browser SDK end to end: Chromium viewers (separate browser contexts) against the real server (signaling,
/// origin HTTP, demo page with the SDK's global bundle). Staggered starts are deliberate delays, not waits.
/// </summary>
[Collection(SwarmCollection.Name)]
public sealed class SwarmTests
{
    private const int Size = 16 << 20;

    [Fact]
    public async Task Six_viewers_finish_byte_exact_and_the_origin_sends_at_most_two_copies()
    {
        await using var swarm = await SwarmHarness.StartAsync(Size);
        var viewers = new List<SwarmHarness.Viewer>();
        for (var i = 0; i < 6; i++)
        {
            // Half read in order with deadlines (as a player would), half rarest-first (as a download would).
            viewers.Add(await swarm.StartViewerAsync(fetchOptions: new { strategy = i % 2 == 0 ? "rarest" : "stream" }));
            await Task.Delay(TimeSpan.FromMilliseconds(700)); // staggered start (deliberate, not a wait)
        }

        var results = new List<SwarmHarness.ViewerResult>();
        foreach (var v in viewers)
        {
            var r = await v.ResultAsync();
            Assert.True(swarm.ContentSha256 == r.Hash, $"viewer {v.Index} got other bytes: {r}\n{v.Log}");
            Assert.Equal(Size, r.Size);
            results.Add(r);
        }

        var egress = swarm.OriginEgress;
        var fromPeers = results.Sum(r => r.FromPeers);
        Assert.True(egress <= 2L * Size, $"origin sent {egress} bytes ({(double)egress / Size:F2} copies); per viewer: {string.Join("; ", results)}");
        Assert.True(fromPeers >= 3L * Size, $"only {fromPeers} bytes came from peers");
        Assert.All(results, r => Assert.Equal("connected", r.Signaling));
    }

    [Fact]
    public async Task Viewers_detect_a_poisoning_peer_ban_it_and_still_finish_byte_exact()
    {
        await using var swarm = await SwarmHarness.StartAsync(Size);
        // The first viewer takes everything from the origin, then serves corrupted pieces to everyone.
        var bad = await swarm.StartViewerAsync(new { debugCorruptUploads = true });
        await bad.ResultAsync();
        var honest = new List<SwarmHarness.Viewer>();
        for (var i = 0; i < 4; i++)
        {
            honest.Add(await swarm.StartViewerAsync());
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }

        var banned = 0;
        var corrupt = 0;
        foreach (var v in honest)
        {
            var r = await v.ResultAsync();
            Assert.True(swarm.ContentSha256 == r.Hash, $"viewer {v.Index} got other bytes: {r}\n{v.Log}");
            Assert.True(r.BannedPeers <= 1, $"an honest peer was banned: {r}");
            banned += r.BannedPeers;
            corrupt += r.CorruptChunks;
        }

        Assert.True(banned >= 1, "nobody banned the poisoning peer");
        Assert.True(corrupt >= 1, "no corrupt chunk was detected");
    }

    [Fact]
    public async Task Two_of_six_viewers_closing_mid_download_leave_the_rest_to_finish_byte_exact()
    {
        await using var swarm = await SwarmHarness.StartAsync(Size);
        // Slow uploads (2 MB/s per viewer) so that downloads are still running when viewers leave.
        var options = new { uploadLimit = 2_000_000 };
        var seed = await swarm.StartViewerAsync(options);
        await seed.ResultAsync();
        var viewers = new List<SwarmHarness.Viewer>();
        for (var i = 0; i < 5; i++)
        {
            viewers.Add(await swarm.StartViewerAsync(options));
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }

        var chunkCount = Size / (1 << 20);
        var leaving = viewers.Take(2).ToList();
        await Task.WhenAll(leaving.Select(v => v.WaitForChunksAsync(3)));
        foreach (var v in leaving)
        {
            var held = await v.ChunksAsync();
            Assert.True(held < chunkCount, $"viewer {v.Index} had finished before it was closed: {await v.StatsAsync()}");
        }

        await Task.WhenAll(leaving.Select(v => v.DisposeAsync().AsTask()));

        foreach (var v in viewers.Skip(2))
        {
            var r = await v.ResultAsync();
            Assert.True(swarm.ContentSha256 == r.Hash, $"viewer {v.Index} got other bytes: {r}\n{v.Log}");
        }
    }

    [Fact]
    public async Task Without_signaling_every_viewer_still_downloads_over_HTTP()
    {
        await using var swarm = await SwarmHarness.StartAsync(4 << 20);
        var dead = $"http://127.0.0.1:{ClosedPort()}";
        var viewers = new[]
        {
            await swarm.StartViewerAsync(new { signaling = dead }),
            await swarm.StartViewerAsync(new { signaling = dead }),
        };
        foreach (var v in viewers)
        {
            var r = await v.ResultAsync();
            Assert.True(swarm.ContentSha256 == r.Hash, $"viewer {v.Index} got other bytes: {r}\n{v.Log}");
            Assert.Equal(0, r.FromPeers);
            Assert.Equal(4 << 20, r.FromOrigin);
            Assert.Equal("disconnected", r.Signaling);
            Assert.Contains("signaling unavailable", r.Errors, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Origin_only_mode_is_plain_HTTP_and_opens_no_signaling()
    {
        await using var swarm = await SwarmHarness.StartAsync(2 << 20);
        var v = await swarm.StartViewerAsync(new { mode = "origin-only" });
        var r = await v.ResultAsync();
        Assert.Equal(swarm.ContentSha256, r.Hash);
        Assert.Equal(0, r.FromPeers);
        Assert.Equal("off", r.Signaling);
    }

    [Fact]
    public async Task A_leech_downloads_but_uploads_nothing()
    {
        await using var swarm = await SwarmHarness.StartAsync(4 << 20);
        var seed = await swarm.StartViewerAsync();
        await seed.ResultAsync();
        var leech = await swarm.StartViewerAsync(new { mode = "leech" });
        var l = await leech.ResultAsync();
        Assert.Equal(swarm.ContentSha256, l.Hash);
        Assert.Equal(4 << 20, l.FromPeers);
        var late = await swarm.StartViewerAsync();
        var r = await late.ResultAsync();
        Assert.Equal(swarm.ContentSha256, r.Hash);
        var leechStats = await leech.StatsAsync();
        Assert.Contains("\"bytesUploaded\":0,", leechStats, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Persisted_chunks_come_back_from_IndexedDB_in_a_new_session_without_the_origin()
    {
        await using var swarm = await SwarmHarness.StartAsync(2 << 20);
        var v = await swarm.StartViewerAsync(new { persist = true, mode = "origin-only" });
        await v.ResultAsync();
        var egress = swarm.OriginEgress;
        // Same browser profile, a new SDK instance: the chunks are read back (and verified) from IndexedDB.
        var again = await v.Page.EvaluateAsync<System.Text.Json.JsonElement>(
            "async (id) => { window.__cdn.close(); const cdn = await WebRtcCdn.connect({ server: location.origin, persist: true, mode: 'origin-only' }); const buf = await (await cdn.fetch(id)).arrayBuffer(); const d = new Uint8Array(await crypto.subtle.digest('SHA-256', buf)); return { hash: Array.from(d, b => b.toString(16).padStart(2, '0')).join(''), stats: cdn.stats() }; }",
            swarm.ContentId).WaitAsync(SwarmHarness.Guard);
        Assert.Equal(swarm.ContentSha256, again.GetProperty("hash").GetString());
        Assert.Equal(0, again.GetProperty("stats").GetProperty("bytesFromOrigin").GetInt64());
        // Only the manifest was fetched again.
        Assert.True(swarm.OriginEgress - egress < 16 << 10, $"origin sent {swarm.OriginEgress - egress} bytes");
    }

    /// <summary>A loopback port nothing listens on: bound then released, so connections to it are refused.</summary>
    private static int ClosedPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class SwarmCollection
{
    /// <summary>Swarm tests share one Chromium and the machine's two cores: run them one after the other.</summary>
    public const string Name = "Chromium swarm";
}
