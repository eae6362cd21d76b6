using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using WebRtcCdn.Server.Edge;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Edge;

/// <summary>
/// Chromium viewers (their own non-trickle offers to /rtc/offer, the wire protocol from docs/PROTOCOL.md, no SDK)
/// download from the edge; two of them are closed mid-transfer (their browser context goes away with requests in
/// flight). The others must finish byte-exact, and once everyone left the edge's own accounting must be back to
/// zero: no peers, sessions, peer connections, port registrations or buffered bytes.
/// </summary>
public sealed class EdgeChromiumChurnTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(120);
    private const int Chunks = 80;
    private EdgeFixture _edge = null!;

    public async Task InitializeAsync() => _edge = await EdgeFixture.StartAsync(
        size: Chunks * EdgeFixture.ChunkSize,
        configureApp: TestPages.Map,
        // 2 MB/s per viewer: the 5 MiB transfers overlap for seconds, so the survivors are mid-transfer when the victims die.
        configure: o => o.Edge.UploadBandwidth = 2_000_000);

    public async Task DisposeAsync() => await _edge.DisposeAsync();

    [Fact]
    public async Task Viewers_closed_mid_transfer_do_not_disturb_the_others_and_the_edge_returns_to_empty()
    {
        var edge = _edge.Server.Services.GetRequiredService<EdgeSeeder>();
        var allGone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        edge.ConnectionRemoved += _ => { if (edge.Usage.IsEmpty) { allGone.TrySetResult(); } }; // the last removal to finish sees it
        var pages = new List<BrowserPage>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                pages.Add(await Chromium.OpenAsync(new Uri(_edge.Server.BaseUri, "/test/rtc-peer.html")).WaitAsync(Guard));
            }

            // Victims: pages 0 and 1, closed once they received a quarter of the file (requests are in flight then).
            var quarter = pages.Take(2).Select(p => ChunksReached(p.Page, Chunks / 4)).ToList();
            var runs = pages.Select((p, i) => p.Page.EvaluateAsync<JsonElement>(
                EdgeViewerScript.Fetch,
                new { id = _edge.Id.ToString(), count = Chunks, size = EdgeFixture.ChunkSize, total = _edge.Content.Length, pipeline = 4, label = "viewer" + i })).ToList();

            for (var v = 0; v < 2; v++)
            {
                await quarter[v].WaitAsync(Guard);
                await pages[v].DisposeAsync(); // the context (its renderer, its peer connection) goes away mid-transfer
                await Assert.ThrowsAnyAsync<PlaywrightException>(() => runs[v].WaitAsync(Guard));
            }

            var sha = Convert.ToHexStringLower(SHA256.HashData(_edge.Content));
            for (var s = 2; s < 4; s++)
            {
                var result = await runs[s].WaitAsync(Guard);
                Assert.True(sha == result.GetProperty("sha").GetString(), $"viewer {s} got different bytes; page log: {pages[s].Log}");
                Assert.Equal(204, result.GetProperty("deleted").GetInt32());
            }

            // The survivors sent DELETE; the victims are noticed by their connection state (ICE consent or DTLS close).
            if (!edge.Usage.IsEmpty)
            {
                await allGone.Task.WaitAsync(Guard);
            }

            Assert.Equal(new EdgeUsage(0, 0, 0, 0, 0), edge.Usage);
        }
        finally
        {
            foreach (var page in pages.Skip(2))
            {
                await page.DisposeAsync();
            }
        }
    }

    private static Task ChunksReached(IPage page, int chunks)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        page.Console += (_, message) =>
        {
            var text = message.Text;
            var at = text.IndexOf(" chunks ", StringComparison.Ordinal);
            if (at > 0 && int.TryParse(text.AsSpan(at + " chunks ".Length), out var n) && n >= chunks)
            {
                reached.TrySetResult();
            }
        };
        return reached.Task;
    }
}
