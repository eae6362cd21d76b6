/**
 * WebRtcCdn browser SDK: `const cdn = await WebRtcCdn.connect({ server })`, then `cdn.fetch(contentId)`.
 * The global bundle (dist/webrtc-cdn.global.js) defines `window.WebRtcCdn` with the same exports, and
 * `WebRtcCdn.connect(...)` there is the class's static method.
 */
import { WebRtcCdn } from "./cdn.js";

export { VERSION } from "./version.js";
export { sha256, sha256Hex, toHex, fromHex } from "./hash.js";
export { WebRtcCdn };
export type { ConnectOptions, CdnFetchOptions, CdnStats, CdnEventMap, ProgressDetail } from "./cdn.js";
export type { PeerStats } from "./swarm.js";
export type { Manifest } from "./manifest.js";
export { parseManifest, ManifestError } from "./manifest.js";
export { decode as decodeFrame, encode as encodeFrame } from "./wire.js";
export type { WireFrame } from "./wire.js";

/** `WebRtcCdn.connect(options)` from the global bundle: the same as the class's static method. */
export const connect = WebRtcCdn.connect.bind(WebRtcCdn);
