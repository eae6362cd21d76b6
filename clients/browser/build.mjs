// Bundles the SDK twice: an ES module for bundlers and <script type="module">, and a classic script that
// defines the global `WebRtcCdn` (the demo page and publishers without a build step use it).
import { build } from "esbuild";

const common = {
  entryPoints: ["src/index.ts"],
  bundle: true,
  target: "es2022",
  sourcemap: true,
  minify: false,
  logLevel: "warning",
};

await build({ ...common, format: "esm", outfile: "dist/webrtc-cdn.mjs" });
await build({ ...common, format: "iife", globalName: "WebRtcCdn", outfile: "dist/webrtc-cdn.global.js" });
