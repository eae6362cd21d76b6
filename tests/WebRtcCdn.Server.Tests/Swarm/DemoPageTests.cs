using System.Net;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Swarm;

/// <summary>The demo page at / lists published content, and a click fetches it through the SDK.</summary>
[Collection(SwarmCollection.Name)]
public sealed class DemoPageTests
{
    [Fact]
    public async Task The_demo_page_lists_content_and_downloads_it_with_live_statistics()
    {
        await using var swarm = await SwarmHarness.StartAsync(3 << 20);
        await using var page = await Chromium.OpenAsync(swarm.Server.BaseUri);
        var p = page.Page;
        await p.WaitForSelectorAsync($"#content option[value='{swarm.ContentId}']", new() { State = Microsoft.Playwright.WaitForSelectorState.Attached });
        var download = p.WaitForDownloadAsync();
        await p.ClickAsync("#download");
        await download.WaitAsync(SwarmHarness.Guard);
        await p.WaitForFunctionAsync("() => document.getElementById('status').textContent.startsWith('done')");
        // The live panel refreshes twice a second: wait for it to show the whole file from the origin (one viewer).
        await p.WaitForFunctionAsync("() => document.getElementById('m-from-origin').textContent === '3.0 MiB'");
        Assert.Equal("0 B", await p.TextContentAsync("#m-from-peers"));
        Assert.Equal(3, await p.EvaluateAsync<int>("() => document.querySelectorAll('#chunks span.origin').length"));
        Assert.Equal("connected", await p.TextContentAsync("#m-signaling"));
    }

    [Fact]
    public async Task The_bundle_and_the_content_list_are_served()
    {
        await using var swarm = await SwarmHarness.StartAsync(1 << 16);
        using var http = swarm.Server.CreateClient();
        using var bundle = await http.GetAsync("/sdk/webrtc-cdn.global.js");
        Assert.Equal(HttpStatusCode.OK, bundle.StatusCode);
        Assert.Contains("WebRtcCdn", await bundle.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var list = await http.GetStringAsync("/demo/content");
        Assert.Contains(swarm.ContentId, list, StringComparison.Ordinal);
        Assert.Contains("\"name\":\"swarm.bin\"", list, StringComparison.Ordinal);
    }
}
