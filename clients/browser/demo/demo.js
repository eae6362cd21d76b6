// The WebRtcCdn demo: plain JavaScript on top of the SDK's global bundle (window.WebRtcCdn).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let cdn = null;
  let current = null;
  const chunkSource = [];

  function fmtBytes(n) {
    const u = ["B", "KiB", "MiB", "GiB"];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? Math.round(n) : n.toFixed(1)) + " " + u[i];
  }
  const fmtRate = (n) => fmtBytes(n) + "/s";
  function log(text) {
    const li = document.createElement("li");
    li.textContent = new Date().toLocaleTimeString() + "  " + text;
    $("events").prepend(li);
    while ($("events").children.length > 50) $("events").lastChild.remove();
  }

  async function loadContent() {
    const sel = $("content");
    try {
      const list = await (await fetch("/demo/content")).json();
      sel.innerHTML = "";
      if (list.length === 0) sel.innerHTML = "<option value=''>nothing published yet</option>";
      for (const c of list) {
        const o = document.createElement("option");
        o.value = c.id;
        o.textContent = c.name + " (" + fmtBytes(c.size) + ", " + c.mediaType + ")";
        o.dataset.type = c.mediaType;
        o.dataset.chunks = c.chunks;
        sel.append(o);
      }
    } catch (e) {
      sel.innerHTML = "<option value=''>cannot list content</option>";
    }
  }

  async function ensureCdn() {
    const mode = $("mode").value;
    if (cdn && cdn.__mode === mode) return cdn;
    if (cdn) cdn.close();
    cdn = await WebRtcCdn.connect({ server: location.origin, mode });
    cdn.__mode = mode;
    cdn.addEventListener("peer", (e) => log("peer " + e.detail.peer.slice(0, 8) + " " + e.detail.state + (e.detail.reason ? " (" + e.detail.reason + ")" : "")));
    cdn.addEventListener("error", (e) => log("⚠ " + e.detail.message));
    cdn.addEventListener("chunk", (e) => {
      if (current && e.detail.contentId === current.id) {
        chunkSource[e.detail.index] = e.detail.source;
        const cell = $("chunks").children[e.detail.index];
        if (cell) cell.className = e.detail.source;
      }
    });
    return cdn;
  }

  async function start(play) {
    const sel = $("content");
    const id = sel.value;
    if (!id) return;
    const opt = sel.selectedOptions[0];
    const chunks = Number(opt.dataset.chunks);
    current = { id, name: opt.textContent, type: opt.dataset.type };
    chunkSource.length = 0;
    $("chunks").innerHTML = "<span></span>".repeat(Math.min(chunks, 2000));
    $("play").disabled = $("download").disabled = true;
    const t0 = performance.now();
    try {
      const c = await ensureCdn();
      $("status").textContent = "fetching…";
      const res = await c.fetch(id, {
        onProgress: (p) => { $("status").textContent = "fetching… " + p.chunks + " / " + p.totalChunks + " chunks verified"; },
      });
      const secs = () => ((performance.now() - t0) / 1000).toFixed(2);
      const done = (size, how) => {
        $("status").textContent = "done: " + fmtBytes(size) + " in " + secs() + " s, every chunk verified" + how + ". This tab now shares it with others.";
        render(); // the figures match the status line now, not at the next 500 ms refresh
      };
      if (play && /^(video|audio)\//.test(current.type)) {
        const v = $("video");
        v.hidden = false;
        const reader = res.body.getReader();
        const first = await reader.read();
        const head = first.value || new Uint8Array(0);
        const mime = first.done ? undefined : MsePlayer.probe(current.type, head);
        if (mime) {
          // Media Source Extensions: playback starts with the first verified chunk, the rest streams in.
          v.dataset.path = "mse";
          v.dataset.mime = mime;
          const size = await MsePlayer.play(v, mime, head, reader, (n) => {
            $("status").textContent = "streaming via MediaSource (" + mime + "): " + fmtBytes(n) + " appended";
          });
          done(size, ", streamed into the player with MediaSource (" + mime + ")");
        } else {
          // Not MSE-playable here (a plain MP4, a codec this browser lacks): play from a Blob once it has all arrived.
          v.dataset.path = "blob";
          const parts = first.done ? [] : [head];
          for (;;) {
            const { value, done: end } = await reader.read();
            if (end) break;
            parts.push(value);
          }
          const blob = new Blob(parts, { type: current.type });
          v.src = URL.createObjectURL(blob);
          v.play().catch(() => undefined);
          done(blob.size, " (not MSE-playable here: played from a Blob)");
        }
      } else {
        const blob = await res.blob();
        done(blob.size, "");
        const a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = current.name.replace(/ \(.*$/, "");
        a.click();
      }
    } catch (e) {
      $("status").textContent = "failed: " + e.message;
    } finally {
      $("play").disabled = $("download").disabled = false;
    }
  }

  function render() {
    if (!cdn) return;
    const s = cdn.stats();
    const total = s.bytesFromPeers + s.bytesFromOrigin;
    $("m-offload").textContent = total ? (100 * s.offload).toFixed(1) + " %" : "–";
    $("m-peers").textContent = String(s.peers);
    $("m-from-peers").textContent = fmtBytes(s.bytesFromPeers);
    $("m-from-origin").textContent = fmtBytes(s.bytesFromOrigin);
    $("m-uploaded").textContent = fmtBytes(s.bytesUploaded);
    $("m-signaling").textContent = s.signaling;
    $("self").textContent = s.peerId || "(no signaling)";
    const size = current ? Number($("content").selectedOptions[0]?.dataset.chunks || 0) : 0;
    const peerChunks = chunkSource.filter((x) => x === "peer").length;
    const originChunks = chunkSource.filter((x) => x === "origin").length;
    if (size) {
      $("bar-peer").style.width = (100 * peerChunks) / size + "%";
      $("bar-origin").style.width = (100 * originChunks) / size + "%";
    }
    const body = $("peers").tBodies[0];
    body.innerHTML = "";
    if (s.peerDetails.length === 0) body.innerHTML = "<tr><td colspan='5' class='muted'>no peers connected</td></tr>";
    for (const p of s.peerDetails) {
      const tr = document.createElement("tr");
      for (const v of [p.id.slice(0, 10), fmtRate(p.downloadRate), fmtRate(p.uploadRate), fmtBytes(p.bytesFromPeer), fmtBytes(p.bytesToPeer)]) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.append(td);
      }
      body.append(tr);
    }
  }

  $("play").addEventListener("click", () => start(true));
  $("download").addEventListener("click", () => start(false));
  setInterval(render, 500);
  loadContent();
})();
