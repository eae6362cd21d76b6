using Microsoft.Extensions.DependencyInjection;
using WebRtcCdn.Core.Peers;
using WebRtcCdn.Core.Scheduling;
using WebRtcCdn.Rtc.PeerConnection;
using WebRtcCdn.Server.Edge;

namespace WebRtcCdn.Server.Tests.Edge;

/// <summary>Native peers (our RTC stack through POST /rtc/offer) download from the edge while others are killed mid-transfer.</summary>
public sealed class EdgeChurnTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(120);
    private EdgeFixture _edge = null!;

    public async Task InitializeAsync() => _edge = await EdgeFixture.StartAsync(size: 40 * EdgeFixture.ChunkSize);

    public async Task DisposeAsync() => await _edge.DisposeAsync();

    private static RtcConfiguration Loopback => new() { BindAddress = System.Net.IPAddress.Loopback };

    private async Task<(EdgeOfferClient Client, Downloader Downloader)> ConnectAsync(HttpClient http, string name)
    {
        var downloader = await Downloader.OpenAsync(http, new DownloaderOptions
        {
            Origin = _edge.Server.BaseUri,
            ContentId = _edge.Id,
            OutputPath = Path.Combine(Path.GetTempPath(), $"edge-churn-{name}-{Guid.NewGuid():N}.bin"),
            DisableHttpChunks = true, // every byte over the data channel
        });
        var client = await EdgeOfferClient.ConnectAsync(http, _edge.Server.BaseUri, _edge.Id, null, Loopback, CancellationToken.None).WaitAsync(Guard);
        var session = new PeerSession(new RtcDataChannelPeerChannel(client.Channel), downloader.Manifest, downloader.ChunkSource);
        _ = session.StartAsync();
        await session.Ready.WaitAsync(Guard);
        downloader.AddPeer(session);
        return (client, downloader);
    }

    [Fact]
    public async Task Killed_viewers_do_not_stop_the_others_and_every_connection_is_released()
    {
        var edge = _edge.Server.Services.GetRequiredService<EdgeSeeder>();
        var allGone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var http = _edge.Server.CreateClient();
        var survivors = new List<(EdgeOfferClient Client, Downloader Downloader)>();
        var victims = new List<(EdgeOfferClient Client, Downloader Downloader)>();
        for (var i = 0; i < 2; i++)
        {
            survivors.Add(await ConnectAsync(http, "survivor" + i));
            victims.Add(await ConnectAsync(http, "victim" + i));
        }

        Assert.Equal(4, edge.Connections);
        Assert.Equal(4, edge.Usage.Sessions);
        var victimRuns = victims.Select(v =>
        {
            var halfway = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var cancel = new CancellationTokenSource();
            var run = v.Downloader.RunAsync(new SyncProgress(p => { if (p.ChunksDone >= 2) { halfway.TrySetResult(); } }), cancel.Token);
            return (halfway.Task, run, cancel, v.Client);
        }).ToList();
        var survivorRuns = survivors.Select(s => s.Downloader.RunAsync()).ToList();

        foreach (var (halfway, run, cancel, client) in victimRuns)
        {
            await halfway.WaitAsync(Guard);
            await client.AbortAsync().AsTask().WaitAsync(Guard); // killed: no DELETE, the connection just dies
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<Exception>(() => run.WaitAsync(Guard));
            cancel.Dispose();
        }

        var results = await Task.WhenAll(survivorRuns).WaitAsync(Guard);
        Assert.All(results, r => Assert.Equal(_edge.Content.Length, r.BytesFromPeers));
        foreach (var (_, downloader) in survivors)
        {
            Assert.Equal(_edge.Content, await File.ReadAllBytesAsync(downloader.PartPath[..^".part".Length]));
        }

        edge.ConnectionRemoved += _ => { if (edge.Usage.IsEmpty) { allGone.TrySetResult(); } }; // the last removal to finish sees it
        foreach (var (client, downloader) in survivors.Concat(victims))
        {
            await client.DisposeAsync();
            await downloader.DisposeAsync();
        }

        if (!edge.Usage.IsEmpty)
        {
            await allGone.Task.WaitAsync(Guard);
        }

        Assert.Equal(0, edge.Connections);
        Assert.Equal(new EdgeUsage(0, 0, 0, 0, 0), edge.Usage); // sessions disposed, port routes gone, no bytes held
        // What ended sessions sent stays in the edge's egress (the swarm bench reports it as server egress).
        Assert.True(edge.BytesUploaded >= 2L * _edge.Content.Length, $"edge egress {edge.BytesUploaded} lost ended sessions' bytes");
    }

    private sealed class SyncProgress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}
