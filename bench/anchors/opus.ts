// @evan/opus's WASM build for the node anchors, as rtcgw uses it. The package's default entry
// loads its native addon on x64 Linux (node/x64-linux.node); the anchors must run the same WASM
// libopus as rtcgw (src/audio/codecs/opus-wasm.ts), so they load `@evan/opus/wasm` explicitly.
// Its Encoder has no property setters, only ctl(): the CTL numbers are libopus's (opus_defines.h).
import { createRequire } from "node:module";
import type * as EvanOpus from "@evan/opus";

const wasm = createRequire(import.meta.url)("@evan/opus/wasm/index.js") as {
  Encoder: typeof EvanOpus.Encoder;
  Decoder: typeof EvanOpus.Decoder;
};
export const Decoder = wasm.Decoder;

const SET_BITRATE = 4002;
const SET_COMPLEXITY = 4010;
const SET_INBAND_FEC = 4012;
const SET_PACKET_LOSS_PERC = 4014;
const SET_SIGNAL = 4024;
const SIGNAL_VOICE = 3001;

/**
 * mono 48 kHz with rtcgw's echo settings: 32 kbps voip, complexity 1, FEC tuned for 10 % loss;
 * on the package's WASM build, or with NAIVE_OPUS_ENCODER=native on its native addon (the
 * `naive-native` anchor: the naive server with the encoder rtcgw runs by default)
 */
export function echoEncoder(native = process.env.NAIVE_OPUS_ENCODER === "native"): EvanOpus.Encoder {
  const lib = native
    ? (createRequire(import.meta.url)("@evan/opus/node/index.js") as { Encoder: typeof EvanOpus.Encoder })
    : wasm;
  const e = new lib.Encoder({ channels: 1, sample_rate: 48000, application: "voip" });
  e.ctl(SET_BITRATE, 32000);
  e.ctl(SET_COMPLEXITY, 1);
  e.ctl(SET_INBAND_FEC, 1);
  e.ctl(SET_PACKET_LOSS_PERC, 10);
  e.ctl(SET_SIGNAL, SIGNAL_VOICE);
  return e;
}
