using System.Security.Cryptography;
using WebRtcCdn.Testing;

namespace WebRtcCdn.Server.Tests.Edge;

/// <summary>
/// Headless Chromium (default settings: mDNS-hidden host candidates, non-trickle offer) POSTs its offer to
/// /rtc/offer, opens the <c>cdn</c> channel and downloads a file only the edge serves it, every byte over the
/// data channel with the wire protocol written here from docs/PROTOCOL.md (no SDK), checked with SHA-256.
/// </summary>
public sealed class EdgeChromiumTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(90);
    private EdgeFixture _edge = null!;
    private BrowserPage _browser = null!;

    public async Task InitializeAsync()
    {
        _edge = await EdgeFixture.StartAsync(size: (5 * EdgeFixture.ChunkSize) + 777, configureApp: TestPages.Map);
        _browser = await Chromium.OpenAsync(new Uri(_edge.Server.BaseUri, "/test/rtc-peer.html"));
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        await _edge.DisposeAsync();
    }

    internal const string FetchOverEdge = """
        async ({ id, count, size, total }) => {
          const pc = new RTCPeerConnection();
          const ch = pc.createDataChannel('cdn');
          ch.binaryType = 'arraybuffer';
          await pc.setLocalDescription(await pc.createOffer());
          await new Promise((resolve) => {
            if (pc.iceGatheringState === 'complete') return resolve();
            pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
          });
          const offer = pc.localDescription.sdp;
          const res = await fetch('/rtc/offer?content=' + id, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
          if (res.status !== 201) throw new Error('offer answered ' + res.status + ': ' + await res.text());
          const location = res.headers.get('Location');
          await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
          const msgs = []; let wake = null;
          ch.onmessage = (e) => { msgs.push(new Uint8Array(e.data)); if (wake) { const w = wake; wake = null; w(); } };
          await new Promise((resolve) => { if (ch.readyState === 'open') resolve(); else ch.onopen = resolve; });
          const next = async () => { while (msgs.length === 0) await new Promise((r) => { wake = r; }); return msgs.shift(); };
          const idBytes = new Uint8Array(id.match(/../g).map((h) => parseInt(h, 16)));
          const hello = new Uint8Array(38 + Math.ceil(count / 8));
          hello[0] = 1; hello[1] = 1; hello.set(idBytes, 2); new DataView(hello.buffer).setInt32(34, count);
          ch.send(hello);
          const remote = await next();
          if (remote[1] !== 1) throw new Error('expected HELLO, got type ' + remote[1]);
          for (let i = 0; i < count; i++) if ((remote[38 + (i >> 3)] & (0x80 >> (i & 7))) === 0) throw new Error('edge lacks chunk ' + i);
          const out = new Uint8Array(total);
          let pieces = 0;
          for (let i = 0; i < count; i++) {
            const len = Math.min(size, total - i * size);
            const req = new Uint8Array(18); const dv = new DataView(req.buffer);
            req[0] = 1; req[1] = 3; dv.setUint32(2, i + 1); dv.setInt32(6, i); dv.setInt32(10, 0); dv.setInt32(14, len);
            ch.send(req);
            let got = 0;
            while (got < len) {
              const m = await next();
              if (m[1] === 6) throw new Error('REJECT ' + m[6] + ' for chunk ' + i);
              if (m[1] !== 4) continue;
              const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
              if (v.getUint32(2) !== i + 1 || v.getInt32(6) !== i) throw new Error('PIECE for another request');
              out.set(m.subarray(14), i * size + v.getInt32(10));
              got += m.length - 14; pieces++;
            }
          }
          const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', out));
          const del = await fetch(location, { method: 'DELETE' });
          pc.close();
          return { sha: [...digest].map((b) => b.toString(16).padStart(2, '0')).join(''), pieces, mdns: /\.local/.test(offer), deleted: del.status };
        }
        """;

    [Fact]
    public async Task Chromium_offer_connects_and_downloads_a_file_only_the_edge_serves()
    {
        var count = (_edge.Content.Length + EdgeFixture.ChunkSize - 1) / EdgeFixture.ChunkSize;
        var result = await _browser.Page.EvaluateAsync<System.Text.Json.JsonElement>(
            FetchOverEdge,
            new { id = _edge.Id.ToString(), count, size = EdgeFixture.ChunkSize, total = _edge.Content.Length }).WaitAsync(Guard);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(_edge.Content)), result.GetProperty("sha").GetString());
        Assert.True(result.GetProperty("mdns").GetBoolean(), "Chromium's offer should carry mDNS (.local) host candidates by default");
        Assert.Equal((2 * (count - 1)) + 1, result.GetProperty("pieces").GetInt32()); // a 64 KiB chunk is two PIECEs (at most 65521 bytes each), the 777-byte tail one
        Assert.Equal(204, result.GetProperty("deleted").GetInt32());
    }
}
