// Plays a Response body in a <video> through Media Source Extensions as it arrives, for containers MSE can take
// in pieces: WebM, and fragmented MP4. The codecs are read from the first bytes (MSE needs them in the MIME
// type and manifests carry only type/subtype). When the content is not MSE-playable here (a plain MP4 with its
// index at the end, a codec this browser lacks: Debian's Chromium has no H.264/AAC), `probe` says so and the
// demo falls back to a Blob once everything has arrived.
"use strict";
window.MsePlayer = (function () {
  const ascii = (s) => Array.from(s, (c) => c.charCodeAt(0));

  function indexOf(bytes, pattern, from) {
    const p = ascii(pattern);
    outer: for (let i = from || 0; i <= bytes.length - p.length; i++) {
      for (let k = 0; k < p.length; k++) if (bytes[i + k] !== p[k]) continue outer;
      return i;
    }
    return -1;
  }

  const hex2 = (n) => n.toString(16).padStart(2, "0");

  /** The codecs parameter for the stream that starts with `head`, or undefined when MSE cannot take it. */
  function codecsOf(mediaType, head) {
    const codecs = [];
    if (/\/webm$/.test(mediaType)) {
      // EBML magic, then CodecID strings in the Tracks element near the start.
      if (head[0] !== 0x1a || head[1] !== 0x45 || head[2] !== 0xdf || head[3] !== 0xa3) return undefined;
      const ids = { V_VP8: "vp8", V_VP9: "vp9", V_AV1: "av01.0.04M.08", A_OPUS: "opus", A_VORBIS: "vorbis" };
      for (const [id, codec] of Object.entries(ids)) if (indexOf(head, id) >= 0) codecs.push(codec);
      return codecs.length ? codecs.join(",") : undefined;
    }
    if (/\/mp4$/.test(mediaType)) {
      // Only fragmented MP4 (movie extends box) streams; a plain MP4 needs its whole index first.
      if (indexOf(head, "ftyp") !== 4 || indexOf(head, "mvex") < 0) return undefined;
      const avcC = indexOf(head, "avcC");
      if (indexOf(head, "avc1") >= 0 && avcC >= 0 && avcC + 8 <= head.length) {
        codecs.push("avc1." + hex2(head[avcC + 5]) + hex2(head[avcC + 6]) + hex2(head[avcC + 7]));
      }
      if (indexOf(head, "vp09") >= 0) codecs.push("vp09.00.10.08");
      if (indexOf(head, "mp4a") >= 0) codecs.push("mp4a.40.2");
      if (indexOf(head, "Opus") >= 0) codecs.push("opus");
      return codecs.length ? codecs.join(",") : undefined;
    }
    return undefined;
  }

  /** The full MIME type to give MSE, or undefined when this browser cannot stream this content with MSE. */
  function probe(mediaType, head) {
    if (typeof MediaSource === "undefined") return undefined;
    const codecs = codecsOf(mediaType, head);
    if (!codecs) return undefined;
    const mime = mediaType + '; codecs="' + codecs + '"';
    return MediaSource.isTypeSupported(mime) ? mime : undefined;
  }

  const once = (target, type) => new Promise((resolve) => target.addEventListener(type, resolve, { once: true }));

  /**
   * Streams `first` and then the rest of `reader` into `video` through a SourceBuffer of type `mime`.
   * Resolves with the bytes appended when the stream has ended (endOfStream called).
   */
  async function play(video, mime, first, reader, onAppend) {
    const ms = new MediaSource();
    video.src = URL.createObjectURL(ms);
    await once(ms, "sourceopen");
    const sb = ms.addSourceBuffer(mime);
    let appended = 0;
    let started = false;
    const append = async (bytes) => {
      for (;;) {
        try {
          sb.appendBuffer(bytes);
          await once(sb, "updateend");
          appended += bytes.length;
          onAppend && onAppend(appended);
          return;
        } catch (e) {
          if (e.name !== "QuotaExceededError") throw e;
          // The buffer is full: drop what has been played (keep 10 s behind the playhead) or wait for playback.
          const behind = video.currentTime - 10;
          if (sb.buffered.length && sb.buffered.start(0) < behind) {
            sb.remove(0, behind);
            await once(sb, "updateend");
          } else {
            await once(video, "timeupdate");
          }
        }
      }
    };
    await append(first);
    for (;;) {
      if (!started && sb.buffered.length) {
        started = true;
        video.play().catch(() => undefined);
      }
      const { value, done } = await reader.read();
      if (done) break;
      await append(value);
    }
    if (ms.readyState === "open") ms.endOfStream();
    if (!started) video.play().catch(() => undefined);
    return appended;
  }

  return { codecsOf, probe, play };
})();
