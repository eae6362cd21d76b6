/**
 * WebRtcCdn browser SDK.
 *
 * The public surface grows with the SDK; what is exported here works and is tested.
 */
export { VERSION } from "./version.js";
export { sha256, sha256Hex, toHex, fromHex } from "./hash.js";
