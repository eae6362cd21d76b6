using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using WebRtcCdn.Core.Configuration;
using WebRtcCdn.Server.Origin;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Swarm;

/// <summary>
/// A real server with published random content, and Chromium viewers (one browser context each) that run the
/// SDK's global bundle on the demo page and fetch the content through the swarm.
/// </summary>
internal sealed class SwarmHarness : IAsyncDisposable
{
    internal const string PublishToken = "swarm-test-publish-token";

    /// <summary>Guard for anything a viewer awaits: generous, so a slow 2-core machine does not fail a correct run.</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(150);

    private readonly string _store;
    private readonly List<Viewer> _viewers = [];

    private SwarmHarness(TestServer server, string store, byte[] content, string contentId)
    {
        Server = server;
        _store = store;
        Content = content;
        ContentId = contentId;
        ContentSha256 = Convert.ToHexStringLower(SHA256.HashData(content));
    }

    public TestServer Server { get; }

    public byte[] Content { get; }

    public string ContentId { get; }

    public string ContentSha256 { get; }

    /// <summary>Bytes the origin endpoints have sent so far (the server's own egress counter).</summary>
    public long OriginEgress => Server.Services.GetRequiredService<OriginEgress>().BytesServed;

    public static async Task<SwarmHarness> StartAsync(int size, Action<WebRtcCdnOptions>? configure = null)
    {
        var store = Path.Combine(Path.GetTempPath(), "webrtc-cdn-swarm-" + Guid.NewGuid().ToString("N"));
        var server = await TestServer.StartAsync(o =>
        {
            o.Content.StorePath = store;
            o.Content.PublishToken = PublishToken;
            configure?.Invoke(o);
        });
        var content = RandomNumberGenerator.GetBytes(size);
        using var http = server.CreateClient();
        using (var bundle = await http.GetAsync("/sdk/webrtc-cdn.global.js"))
        {
            // The SDK bundle is copied next to the server at build time: without it every viewer fails obscurely.
            Assert.True(bundle.IsSuccessStatusCode, await bundle.Content.ReadAsStringAsync());
        }

        return new SwarmHarness(server, store, content, await server.PublishAsync(content, "swarm.bin"));
    }

    /// <summary>Publishes more content (its media type from the name's extension); returns its content id.</summary>
    public Task<string> PublishAsync(byte[] bytes, string name) => Server.PublishAsync(bytes, name);

    /// <summary>
    /// Opens a viewer and starts its fetch (not awaited: see <see cref="Viewer.ResultAsync"/>). With
    /// <paramref name="blockOriginChunks"/> the page cannot load <c>/content/*/chunks/*</c> (the origin's chunk path is
    /// disabled for it: every chunk must come over data channels); <paramref name="contentId"/> fetches other content.
    /// </summary>
    public async Task<Viewer> StartViewerAsync(object? sdkOptions = null, object? fetchOptions = null, bool blockOriginChunks = false, string? contentId = null)
    {
        var context = await Chromium.NewContextAsync();
        var page = await context.NewPageAsync();
        if (blockOriginChunks)
        {
            await page.RouteAsync("**/content/*/chunks/*", route => route.AbortAsync());
        }

        var viewer = new Viewer(context, page, _viewers.Count);
        page.Console += (_, m) => viewer.Record($"console.{m.Type}: {m.Text}");
        page.PageError += (_, e) => viewer.Record($"pageerror: {e}");
        var response = await page.GotoAsync(Server.BaseUri.ToString());
        Assert.True(response is { Ok: true }, $"GET / answered {response?.Status}");
        await page.EvaluateAsync(ViewerScript, new { id = contentId ?? ContentId, options = sdkOptions ?? new { }, fetchOptions = fetchOptions ?? new { } });
        _viewers.Add(viewer);
        return viewer;
    }

    /// <summary>
    /// Runs in the page: connect, fetch the content, hash what the Response body delivered, and report with the
    /// SDK's statistics. window.__run is the promise the test awaits; chunk events feed window.__chunks.
    /// </summary>
    private const string ViewerScript = """
        ({ id, options, fetchOptions }) => {
          window.__chunks = 0;
          window.__waiters = [];
          window.__errors = [];
          window.__run = (async () => {
            const cdn = await WebRtcCdn.connect(Object.assign({ server: location.origin }, options));
            window.__cdn = cdn;
            cdn.addEventListener("error", (e) => window.__errors.push(e.detail.message));
            cdn.addEventListener("chunk", () => {
              window.__chunks++;
              window.__waiters = window.__waiters.filter(([n, r]) => (window.__chunks >= n ? (r(), false) : true));
            });
            const t0 = performance.now();
            const res = await cdn.fetch(id, fetchOptions);
            const buf = await res.arrayBuffer();
            const ms = performance.now() - t0;
            const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
            const hash = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
            return { hash, size: buf.byteLength, ms, stats: cdn.stats(), errors: window.__errors };
          })();
          window.__run.catch(() => undefined);
        }
        """;

    public async ValueTask DisposeAsync()
    {
        foreach (var v in _viewers)
        {
            await v.DisposeAsync();
        }

        await Server.DisposeAsync();
        if (Directory.Exists(_store))
        {
            Directory.Delete(_store, recursive: true);
        }
    }

    internal sealed class Viewer(IBrowserContext context, IPage page, int index) : IAsyncDisposable
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log = new();
        private bool _closed;

        public IPage Page => page;

        public int Index => index;

        public string Log => string.Join(Environment.NewLine, _log);

        public void Record(string line) => _log.Enqueue(line);

        /// <summary>Awaits the viewer's fetch and returns its hash, size and statistics.</summary>
        public async Task<ViewerResult> ResultAsync()
        {
            var json = await page.EvaluateAsync<JsonElement>("() => window.__run").WaitAsync(Guard);
            return new ViewerResult(json);
        }

        /// <summary>Resolves once the viewer holds at least <paramref name="chunks"/> verified chunks.</summary>
        public Task WaitForChunksAsync(int chunks) =>
            page.EvaluateAsync("n => new Promise(r => window.__chunks >= n ? r() : window.__waiters.push([n, r]))", chunks).WaitAsync(Guard);

        public async Task<string> StatsAsync() => (await page.EvaluateAsync<System.Text.Json.JsonElement>("() => window.__cdn.stats()")).ToString();

        public async Task<int> ChunksAsync() => await page.EvaluateAsync<int>("() => window.__chunks");

        /// <summary>Closes the viewer's browser context (its peer connections drop as a closed tab's would).</summary>
        public async ValueTask DisposeAsync()
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            await context.CloseAsync();
        }
    }

    internal sealed class ViewerResult(JsonElement json)
    {
        public string Hash => json.GetProperty("hash").GetString()!;

        public long Size => json.GetProperty("size").GetInt64();

        public double Milliseconds => json.GetProperty("ms").GetDouble();

        public JsonElement Stats => json.GetProperty("stats");

        public long FromPeers => Stats.GetProperty("bytesFromPeers").GetInt64();

        public long FromOrigin => Stats.GetProperty("bytesFromOrigin").GetInt64();

        public int BannedPeers => Stats.GetProperty("bannedPeers").GetInt32();

        public int CorruptChunks => Stats.GetProperty("corruptChunks").GetInt32();

        public string Signaling => Stats.GetProperty("signaling").GetString()!;

        public string Errors => json.GetProperty("errors").ToString();

        public override string ToString() => json.ToString();
    }
}
