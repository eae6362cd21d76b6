using Microsoft.Playwright;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Swarm;

/// <summary>
/// The demo page by hand, in Chromium: two tabs share a download (the second takes it from the first, byte-exact),
/// and Play streams a WebM into the video element through Media Source Extensions as chunks arrive, falling back
/// to a Blob for content MSE cannot take. The WebM is recorded in the browser (MediaRecorder, VP8): no media
/// files are downloaded or checked in, and Debian's Chromium plays VP8 (it lacks H.264/AAC).
/// </summary>
[Collection(SwarmCollection.Name)]
public sealed class DemoPlaybackTests
{
    private static readonly PageWaitForFunctionOptions Wait = new() { Timeout = (float)SwarmHarness.Guard.TotalMilliseconds };

    [Fact]
    public async Task A_second_tab_downloads_byte_exact_from_the_first_and_shows_bytes_from_peers()
    {
        await using var swarm = await SwarmHarness.StartAsync(4 << 20);
        await using var first = await Chromium.OpenAsync(swarm.Server.BaseUri);
        var a = await DownloadAsync(first.Page, swarm.ContentId);
        Assert.True(swarm.Content.AsSpan().SequenceEqual(a), $"the first tab saved other bytes\n{first.Log}");

        await using var second = await Chromium.OpenAsync(swarm.Server.BaseUri);
        var b = await DownloadAsync(second.Page, swarm.ContentId);
        Assert.True(swarm.Content.AsSpan().SequenceEqual(b), $"the second tab saved other bytes\n{second.Log}");
        // The live panel refreshes twice a second; the second tab's bytes came from the first tab.
        await second.Page.WaitForFunctionAsync("() => document.getElementById('m-from-peers').textContent !== '0 B'", null, Wait);
        var offload = await second.Page.TextContentAsync("#m-offload");
        Assert.True(offload is not null && offload != "–" && !offload.StartsWith("0.0", StringComparison.Ordinal), $"offload shown: {offload}\n{second.Log}");
        Assert.True(await second.Page.EvaluateAsync<int>("() => document.querySelectorAll('#chunks span.peer').length") > 0);
        await first.Page.WaitForFunctionAsync("() => document.getElementById('m-uploaded').textContent !== '0 B'", null, Wait);
    }

    [Fact]
    public async Task Play_streams_a_WebM_into_the_video_through_MediaSource()
    {
        // 16 KiB chunks (the smallest allowed) so that a short clip spans many chunks and arrives in pieces.
        await using var swarm = await SwarmHarness.StartAsync(1 << 16, o => o.P2P.ChunkSize = 16 << 10);
        byte[] clip;
        await using (var recorder = await Chromium.OpenAsync(swarm.Server.BaseUri))
        {
            clip = Convert.FromBase64String(await recorder.Page.EvaluateAsync<string>(RecordWebM));
        }

        Assert.True(clip.Length > 64 << 10, $"the recorded clip is only {clip.Length} bytes");
        var id = await swarm.PublishAsync(clip, "clip.webm");

        await using var tab = await Chromium.OpenAsync(swarm.Server.BaseUri);
        var p = tab.Page;
        await p.WaitForSelectorAsync($"#content option[value='{id}']", new() { State = WaitForSelectorState.Attached });
        await p.SelectOptionAsync("#content", id);
        await p.ClickAsync("#play");
        await p.WaitForFunctionAsync("() => document.getElementById('status').textContent.startsWith('done')", null, Wait);
        Assert.Equal("mse", await p.EvaluateAsync<string>("() => document.getElementById('video').dataset.path"));
        Assert.StartsWith("video/webm; codecs=\"vp8", await p.EvaluateAsync<string>("() => document.getElementById('video').dataset.mime"), StringComparison.Ordinal);
        // The player decoded frames and plays: the playhead moves, and MSE buffered the whole clip.
        await p.WaitForFunctionAsync("() => { const v = document.getElementById('video'); return v.readyState >= 2 && v.currentTime > 0.2; }", null, Wait);
        var buffered = await p.EvaluateAsync<double>("() => { const v = document.getElementById('video'); return v.buffered.end(v.buffered.length - 1); }");
        Assert.True(buffered > 1.5, $"buffered up to {buffered} s\n{tab.Log}");
        Assert.Null(await p.EvaluateAsync<string?>("() => document.getElementById('video').error?.message ?? null"));
    }

    [Fact]
    public async Task Play_falls_back_to_a_Blob_when_the_content_is_not_MSE_playable()
    {
        await using var swarm = await SwarmHarness.StartAsync(1 << 16);
        // Not a fragmented MP4 (random bytes named .mp4): MSE cannot take it, so the demo plays a Blob.
        var id = await swarm.PublishAsync(swarm.Content, "plain.mp4");
        await using var tab = await Chromium.OpenAsync(swarm.Server.BaseUri);
        var p = tab.Page;
        await p.WaitForSelectorAsync($"#content option[value='{id}']", new() { State = WaitForSelectorState.Attached });
        await p.SelectOptionAsync("#content", id);
        await p.ClickAsync("#play");
        await p.WaitForFunctionAsync("() => document.getElementById('status').textContent.startsWith('done')", null, Wait);
        Assert.Equal("blob", await p.EvaluateAsync<string>("() => document.getElementById('video').dataset.path"));
        Assert.StartsWith("blob:", await p.EvaluateAsync<string>("() => document.getElementById('video').src"), StringComparison.Ordinal);
    }

    private static async Task<byte[]> DownloadAsync(IPage page, string contentId)
    {
        await page.WaitForSelectorAsync($"#content option[value='{contentId}']", new() { State = WaitForSelectorState.Attached });
        await page.SelectOptionAsync("#content", contentId);
        var download = page.WaitForDownloadAsync(new() { Timeout = (float)SwarmHarness.Guard.TotalMilliseconds });
        await page.ClickAsync("#download");
        var d = await download;
        var path = Path.Combine(Path.GetTempPath(), "webrtc-cdn-demo-" + Guid.NewGuid().ToString("N"));
        try
        {
            await d.SaveAsAsync(path);
            await page.WaitForFunctionAsync("() => document.getElementById('status').textContent.startsWith('done')", null, Wait);
            return await File.ReadAllBytesAsync(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Records 3 s of an animated canvas with MediaRecorder as VP8 WebM (a live WebM: unknown-size segment and
    /// clusters, as a live encoder writes) and returns it base64-encoded.
    /// </summary>
    private const string RecordWebM = """
        async () => {
          const canvas = document.createElement("canvas");
          canvas.width = 320; canvas.height = 240;
          const g = canvas.getContext("2d");
          let frame = 0;
          const draw = () => {
            g.fillStyle = `hsl(${(frame * 7) % 360} 80% 50%)`;
            g.fillRect(0, 0, 320, 240);
            g.fillStyle = "#fff";
            for (let i = 0; i < 40; i++) g.fillRect((frame * 5 + i * 37) % 320, (i * 53 + frame * 3) % 240, 12, 12);
            g.font = "48px sans-serif";
            g.fillText(String(frame), 20, 120);
            frame++;
          };
          draw();
          const timer = setInterval(draw, 33);
          const mime = "video/webm;codecs=vp8";
          if (!MediaRecorder.isTypeSupported(mime)) throw new Error("MediaRecorder cannot record " + mime);
          const rec = new MediaRecorder(canvas.captureStream(30), { mimeType: mime, videoBitsPerSecond: 2_000_000 });
          const parts = [];
          rec.ondataavailable = (e) => e.data.size && parts.push(e.data);
          const stopped = new Promise((r) => (rec.onstop = r));
          rec.start(250);
          await new Promise((r) => setTimeout(r, 3000));
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
