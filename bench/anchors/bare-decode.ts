// The bare Opus decode, for the record target's floor: @evan/opus WASM (its WASM build, as rtcgw) decoding the load
// generator's own 440 Hz packets, at 16 kHz (what rtcgw's record does: libopus decodes straight
// to 16 kHz) and at 48 kHz (what the naive anchors do), µs of CPU per 20 ms packet, best of 3
// after a warm-up. Run on the servers' core by the bench (taskset); prints one JSON line.

import { encodedTone } from "../../test/support/client-peer.js";
import { Decoder } from "./opus.js";

const packets = Array.from({ length: 10 }, () => encodedTone("opus", 440)).flat(); // 10 s
const out: Record<string, number> = {};
for (const rate of [16000, 48000] as const) {
  // warm up: V8 runs WASM on its baseline compiler until the optimised code is ready
  const warm = new Decoder({ channels: 1, sample_rate: rate });
  for (let i = 0; i < 4; i++) for (const p of packets) warm.decode(p);
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 3; r++) {
    const dec = new Decoder({ channels: 1, sample_rate: rate });
    const t = process.cpuUsage();
    for (const p of packets) dec.decode(p);
    const d = process.cpuUsage(t);
    best = Math.min(best, (d.user + d.system) / packets.length);
  }
  out[`us${rate / 1000}k`] = best;
}
process.stdout.write(`${JSON.stringify(out)}\n`);
