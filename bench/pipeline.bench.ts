// npm run bench:pipeline — CPU per 20 ms frame per session for the pipeline's two hot paths,
// single thread, beside the bare @evan/opus WASM decode measured in the same run (the anchor: on
// a busy machine everything slows together; the ratio is what carries over).
//
//   record: RTP parse + jitter buffer + timestamp repair + Opus decode straight to the WAV rate
//           (libopus decodes natively at 16 kHz: no resampler) + WAV write, plus the original
//           packet into the Ogg writer
//   echo:   the same receive side decoding at 16 kHz + resample 16k→48k + Opus encode + RTP
//           packetize
//
// CPU is process.cpuUsage() (user + system) over many frames; Opus packets are encoded once up
// front. BENCH_FRAMES=N changes the sample size (default 3000 = 60 s of audio per path).
process.env.OPUS_FORCE_WASM = "1"; // the anchor must be @evan/opus's WASM build, not its native addon

import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OpusDecoder, OpusEncoder } from "../src/audio/codecs/opus.js";
import type { CodecSpec } from "../src/audio/codecs/types.js";
import { loadResampler } from "../src/audio/resampler/index.js";
import { ECHO_OPUS_COMPLEXITY, EchoSession } from "../src/media/profiles/echo.js";
import { RecordSession } from "../src/media/profiles/record.js";
import { buildRtp } from "../src/media/rtp/packet.js";
import { ToneSource } from "../src/media/sources/tone.js";

const FRAMES = Number(process.env.BENCH_FRAMES ?? 3000);
const ROUNDS = 3;
const OPUS: CodecSpec = { codec: "opus", payloadType: 111, clockRate: 48000, channels: 1 };

// ── inputs, prepared once ─────────────────────────────────────────────────────────────────
const tone = new ToneSource({ frequency: 440, amplitude: 0.25 });
const encoder = new OpusEncoder({ channels: 1 });
const payloads: Uint8Array[] = [];
for (let i = 0; i < FRAMES; i++) payloads.push(encoder.encode(tone.nextFrame().samples));
encoder.destroy();
const packets = payloads.map((payload, i) =>
  buildRtp({
    payloadType: 111,
    sequenceNumber: i & 0xffff,
    timestamp: i * 960,
    ssrc: 0x1234,
    marker: i === 0,
    payload,
  }),
);

function cpuMicros(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const d = process.cpuUsage(start);
  return d.user + d.system;
}

/** best of ROUNDS (least disturbed by the neighbours on a shared machine), µs per frame */
function measure(fn: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < ROUNDS; r++) {
    const us = cpuMicros(fn) / FRAMES;
    if (process.env.BENCH_VERBOSE) console.log(`  round ${r}: ${us.toFixed(1)} µs/frame`);
    best = Math.min(best, us);
  }
  return best;
}

const require = createRequire(import.meta.url);
const evan = require("@evan/opus") as typeof import("@evan/opus");

const dir = mkdtempSync(join(tmpdir(), "rtcgw-bench-"));
let run = 0;
await loadResampler();

function recordSession(id: string, rate: 16000 | 48000): RecordSession {
  return new RecordSession({ sessionId: id, dir, codec: OPUS, rate, startMs: 0 });
}
function echoSession(send: (p: Uint8Array) => void, complexity: number): EchoSession {
  return new EchoSession({
    codec: OPUS,
    out: { ssrc: 0x55, send },
    startMs: 0,
    encoderComplexity: complexity,
  });
}
/** the echo row at the node's default complexity, then the others for comparison
 *  (BENCH_ECHO_COMPLEXITIES=10,5,3,1 to choose; empty for the default alone) */
const echoComplexities = [
  ECHO_OPUS_COMPLEXITY,
  ...(process.env.BENCH_ECHO_COMPLEXITIES ?? "10,5,3,1")
    .split(",")
    .filter(Boolean)
    .map(Number)
    .filter((c) => c !== ECHO_OPUS_COMPLEXITY),
];

const rows: Array<{ path: string; us: number }> = [];

rows.push({
  path: "anchor: bare @evan/opus WASM decode (20 ms, mono)",
  us: measure(() => {
    const d = new evan.Decoder({ channels: 1, sample_rate: 48000 });
    for (const p of payloads) d.decode(p);
  }),
});

rows.push({
  path: "rtcgw Opus decode alone (src/audio/codecs)",
  us: measure(() => {
    const d = new OpusDecoder({ channels: 1 });
    for (const p of payloads) d.decode(p);
    d.destroy();
  }),
});

for (const rate of [16000, 48000] as const) {
  rows.push({
    path: `record: decode→${rate / 1000}k+repair+WAV (+Ogg)`,
    us: measure(() => {
      // one call of FRAMES × 20 ms on a virtual timeline: a packet arrives, the clock ticks
      const rec = recordSession(`bench_${rate}_${run++}`, rate);
      for (let i = 0; i < FRAMES; i++) {
        // time only moves forward: the packet arrives, then the clock ticks at that instant
        rec.pushRtp(packets[i]!, i * 20 + 5);
        rec.tick(i * 20 + 5);
      }
      rec.close(FRAMES * 20 + 5);
      const st = rec.stats();
      // guard the measurement: every packet decoded, the WAV as long as the call
      if (st.receiver.decodeErrors > 0 || st.concealedMs > 0 || st.silenceFilledMs > 20 || st.late > 0)
        throw new Error(`record path misbehaved: ${JSON.stringify(st.receiver)}`);
      if (Math.abs(st.wav!.durationMs - (FRAMES * 20 + 5)) > 40)
        throw new Error(`WAV ${st.wav!.durationMs} ms`);
    }),
  });
}

for (const complexity of echoComplexities) {
  rows.push({
    path: `echo: decode→16k+repair+16k→48k+encode (complexity ${complexity}${complexity === ECHO_OPUS_COMPLEXITY ? ", default" : ""})+packetize`,
    us: measure(() => {
      let sent = 0;
      const echo = echoSession(() => {
        sent++;
      }, complexity);
      for (let i = 0; i < FRAMES; i++) {
        echo.pushRtp(packets[i]!, i * 20 + 5);
        echo.tick(i * 20 + 5);
      }
      echo.close(FRAMES * 20 + 5);
      if (sent < FRAMES - 5) throw new Error(`echo sent ${sent} packets for ${FRAMES} frames`);
    }),
  });
}

rmSync(dir, { recursive: true, force: true });

const anchor = rows[0]!.us;
console.log(
  `\npipeline CPU per 20 ms frame per session (single thread, best of ${ROUNDS} × ${FRAMES} frames)\n`,
);
console.log("| path | µs / frame | × anchor | sessions per core (20 ms budget) |");
console.log("|---|---:|---:|---:|");
for (const r of rows)
  console.log(
    `| ${r.path} | ${r.us.toFixed(1)} | ${(r.us / anchor).toFixed(2)} | ${Math.floor(20_000 / r.us)} |`,
  );
console.log(`\nnode ${process.version}, ${process.platform}/${process.arch}`);
