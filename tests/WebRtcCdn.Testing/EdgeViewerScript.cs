namespace WebRtcCdn.Testing;

/// <summary>
/// A Chromium viewer of the edge written from docs/PROTOCOL.md alone (no SDK): POST /rtc/offer with the page's own
/// non-trickle offer, the <c>cdn</c> channel, HELLO, then every chunk with <c>pipeline</c> REQUESTs outstanding (as
/// the SDK keeps several), PINGs answered. Used by the edge churn tests and the edge bench; pass it to
/// <c>Page.EvaluateAsync</c> on a page of the server (e.g. <c>/test/rtc-peer.html</c>) with
/// <c>{ id, count, size, total, pipeline, label }</c>. It logs <c>"{label} chunks N"</c> to the console after each
/// chunk (tests wait for it to kill a viewer mid-transfer) and resolves with the SHA-256 of the bytes, the PIECE
/// count, milliseconds from channel open to the last byte, and the DELETE status.
/// </summary>
public static class EdgeViewerScript
{
    public const string Fetch = """
        async ({ id, count, size, total, pipeline, label }) => {
          const pc = new RTCPeerConnection();
          const ch = pc.createDataChannel('cdn');
          ch.binaryType = 'arraybuffer';
          await pc.setLocalDescription(await pc.createOffer());
          await new Promise((resolve) => {
            if (pc.iceGatheringState === 'complete') return resolve();
            pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
          });
          const res = await fetch('/rtc/offer?content=' + id, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
          if (res.status !== 201) throw new Error('offer answered ' + res.status + ': ' + await res.text());
          const location = res.headers.get('Location');
          await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
          await new Promise((resolve, reject) => {
            if (ch.readyState === 'open') return resolve();
            ch.onopen = resolve;
            ch.onclose = () => reject(new Error('channel closed before it opened'));
          });
          const started = performance.now();
          const out = new Uint8Array(total);
          const got = new Int32Array(count);
          let pieces = 0, done = 0, next = 0, settle = null;
          const finished = new Promise((resolve, reject) => { settle = { resolve, reject }; });
          const idBytes = new Uint8Array(id.match(/../g).map((h) => parseInt(h, 16)));
          const request = (i) => {
            const len = Math.min(size, total - i * size);
            const req = new Uint8Array(18); const dv = new DataView(req.buffer);
            req[0] = 1; req[1] = 3; dv.setUint32(2, i + 1); dv.setInt32(6, i); dv.setInt32(10, 0); dv.setInt32(14, len);
            ch.send(req);
          };
          ch.onclose = () => settle.reject(new Error('channel closed after ' + done + ' chunks'));
          ch.onmessage = (e) => {
            const m = new Uint8Array(e.data);
            const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
            switch (m[1]) {
              case 1: // HELLO: the edge must hold every chunk; then fill the pipeline
                for (let i = 0; i < count; i++) if ((m[38 + (i >> 3)] & (0x80 >> (i & 7))) === 0) return settle.reject(new Error('edge lacks chunk ' + i));
                while (next < count && next < pipeline) request(next++);
                return;
              case 4: { // PIECE
                const i = v.getInt32(6);
                if (v.getUint32(2) !== i + 1) return settle.reject(new Error('PIECE for another request'));
                out.set(m.subarray(14), i * size + v.getInt32(10));
                got[i] += m.length - 14; pieces++;
                if (got[i] === Math.min(size, total - i * size)) {
                  done++;
                  console.log(label + ' chunks ' + done);
                  if (next < count) request(next++);
                  if (done === count) settle.resolve();
                }
                return;
              }
              case 6: return settle.reject(new Error('REJECT ' + m[6]));
              case 7: { const pong = new Uint8Array(m); pong[1] = 8; ch.send(pong); return; } // PING -> PONG, same nonce
              default: return;
            }
          };
          const hello = new Uint8Array(38 + Math.ceil(count / 8));
          hello[0] = 1; hello[1] = 1; hello.set(idBytes, 2); new DataView(hello.buffer).setInt32(34, count);
          ch.send(hello);
          await finished;
          const ms = performance.now() - started;
          const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', out));
          const del = await fetch(location, { method: 'DELETE' });
          pc.close();
          return { sha: [...digest].map((b) => b.toString(16).padStart(2, '0')).join(''), pieces, ms, deleted: del.status };
        }
        """;
}
