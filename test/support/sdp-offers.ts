// Offers captured from real clients (test/fixtures/sdp/README.md says how), read as they are.
import { readFileSync } from "node:fs";

export const CLIENT_OFFERS = [
  "chromium.sdp",
  "aiortc.sdp",
  "gstreamer-webrtcbin.sdp",
  "node-datachannel.sdp",
] as const;

export const clientOffer = (name: (typeof CLIENT_OFFERS)[number]) =>
  readFileSync(new URL(`../fixtures/sdp/${name}`, import.meta.url), "utf8");
