using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Bench.Swarm;

/// <summary>
/// Drives the demo page at / the way a person would, and saves PNG screenshots: tab 1 downloads a file and plays
/// a WebM (recorded in the browser with MediaRecorder, VP8), then tab 2 (another browser context) does the same and
/// takes it from tab 1. Prints what each tab's live panel showed. Not a measurement: a reproducible look at the demo.
/// Usage: demo-tour [--out DIR] [--mib 24]
/// </summary>
public sealed class DemoTour : IBenchSuite
{
    private const string PublishToken = "demo-tour-token";

    public string Name => "demo-tour";

    public string Description => "drives the demo page in two Chromium tabs and saves screenshots (PNG)";

    public async Task<int> RunAsync(string[] args)
    {
        var i = Array.IndexOf(args, "--out");
        var outDir = Path.GetFullPath(i >= 0 && i + 1 < args.Length ? args[i + 1] : "demo-tour");
        var m = Array.IndexOf(args, "--mib");
        var mib = m >= 0 && m + 1 < args.Length ? int.Parse(args[m + 1], CultureInfo.InvariantCulture) : 24;
        Directory.CreateDirectory(outDir);
        var store = Path.Combine(Path.GetTempPath(), "webrtc-cdn-tour-" + Guid.NewGuid().ToString("N"));
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Content.StorePath = store;
            o.Content.PublishToken = PublishToken;
            // 256 KiB chunks: the clip spans several chunks and the chunk map has something to show.
            o.P2P.ChunkSize = 256 << 10;
        }).ConfigureAwait(false);
        try
        {
            var contexts = new List<IBrowserContext>();
            async Task<IPage> OpenTab()
            {
                var browser = await Chromium.BrowserAsync().ConfigureAwait(false);
                var context = await browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 }, AcceptDownloads = true }).ConfigureAwait(false);
                contexts.Add(context);
                var page = await context.NewPageAsync().ConfigureAwait(false);
                page.Console += (_, msg) => { if (msg.Type == "error") Console.WriteLine($"  console: {msg.Text}"); };
                await page.GotoAsync(server.BaseUri.ToString()).ConfigureAwait(false);
                return page;
            }

            var recorder = await OpenTab().ConfigureAwait(false);
            var clip = Convert.FromBase64String(await recorder.EvaluateAsync<string>(RecordWebM).ConfigureAwait(false));
            await contexts[0].CloseAsync().ConfigureAwait(false);
            contexts.Clear();
            var clipId = await server.PublishAsync(clip, "clip.webm").ConfigureAwait(false);
            var fileId = await server.PublishAsync(System.Security.Cryptography.RandomNumberGenerator.GetBytes(mib << 20), "big-file.bin").ConfigureAwait(false);
            Console.WriteLine($"published clip.webm ({clip.Length} bytes) and big-file.bin ({mib} MiB); screenshots in {outDir}");

            var tab1 = await OpenTab().ConfigureAwait(false);
            await Shot(tab1, outDir, "1-tab1-opened").ConfigureAwait(false);
            await Fetch(tab1, fileId, "#download").ConfigureAwait(false);
            await Shot(tab1, outDir, "2-tab1-downloaded").ConfigureAwait(false);
            await Fetch(tab1, clipId, "#play").ConfigureAwait(false);
            await tab1.WaitForFunctionAsync("() => document.getElementById('video').currentTime > 1").ConfigureAwait(false);
            await Shot(tab1, outDir, "3-tab1-playing").ConfigureAwait(false);

            var tab2 = await OpenTab().ConfigureAwait(false);
            await tab2.WaitForSelectorAsync($"#content option[value='{fileId}']", new() { State = WaitForSelectorState.Attached }).ConfigureAwait(false);
            await tab2.SelectOptionAsync("#content", fileId).ConfigureAwait(false);
            await tab2.ClickAsync("#download").ConfigureAwait(false);
            // Mid-download, while the tabs are connected.
            await tab2.WaitForFunctionAsync("() => document.querySelectorAll('#chunks span.peer').length >= 24", null, new() { PollingInterval = 50 }).ConfigureAwait(false);
            await tab2.WaitForTimeoutAsync(600).ConfigureAwait(false); // one refresh of the live panel (500 ms), for the picture
            await Shot(tab2, outDir, "4-tab2-downloading").ConfigureAwait(false);
            await tab2.WaitForFunctionAsync("() => document.getElementById('status').textContent.startsWith('done')").ConfigureAwait(false);
            await tab2.WaitForTimeoutAsync(600).ConfigureAwait(false);
            await Shot(tab2, outDir, "5-tab2-downloaded").ConfigureAwait(false);
            await Fetch(tab2, clipId, "#play").ConfigureAwait(false);
            await tab2.WaitForFunctionAsync("() => document.getElementById('video').currentTime > 1").ConfigureAwait(false);
            await Shot(tab2, outDir, "6-tab2-playing").ConfigureAwait(false);
            await tab1.WaitForTimeoutAsync(600).ConfigureAwait(false);
            await Shot(tab1, outDir, "7-tab1-after-sharing").ConfigureAwait(false);
            foreach (var c in contexts)
            {
                await c.CloseAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            if (Directory.Exists(store))
            {
                Directory.Delete(store, recursive: true);
            }
        }

        return 0;
    }

    private static async Task Fetch(IPage page, string id, string button)
    {
        await page.WaitForSelectorAsync($"#content option[value='{id}']", new() { State = WaitForSelectorState.Attached }).ConfigureAwait(false);
        await page.SelectOptionAsync("#content", id).ConfigureAwait(false);
        await page.ClickAsync(button).ConfigureAwait(false);
        await page.WaitForFunctionAsync("() => document.getElementById('status').textContent.startsWith('done')").ConfigureAwait(false);
        await page.WaitForTimeoutAsync(600).ConfigureAwait(false); // one refresh of the live panel
    }

    private static async Task Shot(IPage page, string dir, string name)
    {
        var path = Path.Combine(dir, name + ".png");
        await page.ScreenshotAsync(new() { Path = path, FullPage = true }).ConfigureAwait(false);
        var panel = await page.EvaluateAsync<JsonElement>("""
            () => ({
              status: document.getElementById('status').textContent,
              offload: document.getElementById('m-offload').textContent,
              peers: document.getElementById('m-peers').textContent,
              fromPeers: document.getElementById('m-from-peers').textContent,
              fromOrigin: document.getElementById('m-from-origin').textContent,
              uploaded: document.getElementById('m-uploaded').textContent,
              rows: [...document.querySelectorAll('#peers tbody tr')].map(r => r.textContent.trim()).join(' | '),
              video: (() => { const v = document.getElementById('video'); return v.hidden ? '' : `${v.dataset.path} ${v.dataset.mime ?? ''} t=${v.currentTime.toFixed(1)}s`; })(),
            })
            """).ConfigureAwait(false);
        Console.WriteLine($"{name}.png: {panel}");
    }

    /// <summary>8 s of an animated canvas recorded as VP8 WebM by MediaRecorder, base64 (no media files to download).</summary>
    private const string RecordWebM = """
        async () => {
          const canvas = document.createElement("canvas");
          canvas.width = 640; canvas.height = 360;
          const g = canvas.getContext("2d");
          let frame = 0;
          const draw = () => {
            g.fillStyle = `hsl(${(frame * 3) % 360} 70% 45%)`;
            g.fillRect(0, 0, 640, 360);
            g.fillStyle = "#fff";
            for (let i = 0; i < 60; i++) g.fillRect((frame * 6 + i * 37) % 640, (i * 53 + frame * 2) % 360, 14, 14);
            g.font = "bold 64px sans-serif";
            g.fillText("WebRtcCdn  frame " + frame, 30, 200);
            frame++;
          };
          draw();
          const timer = setInterval(draw, 33);
          const rec = new MediaRecorder(canvas.captureStream(30), { mimeType: "video/webm;codecs=vp8", videoBitsPerSecond: 3_000_000 });
          const parts = [];
          rec.ondataavailable = (e) => e.data.size && parts.push(e.data);
          const stopped = new Promise((r) => (rec.onstop = r));
          rec.start(250);
          await new Promise((r) => setTimeout(r, 8000));
          rec.stop();
          await stopped;
          clearInterval(timer);
          const bytes = new Uint8Array(await new Blob(parts).arrayBuffer());
          let s = "";
          for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
          return btoa(s);
        }
        """;
}
