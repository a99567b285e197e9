// npm run bench opus-encoder [-- <speech.wav>] [--rounds 3]: the Opus encoder on its two
// backends (src/audio/codecs/opus-encoder-state.ts) — @evan/opus's native addon, which rtcgw
// runs by default, beside its WASM build, the anchor, in the same run — on real speech at the
// settings rtcgw encodes with: the echo (16 kHz in, complexity 1, 32 kbps voip, FEC for 10 %
// loss), the bridge's audio back to a Twilio-protocol caller (8 kHz in, the same settings) and
// a WHEP listener (48 kHz in, complexity 3). CPU per 20 ms frame (process.cpuUsage around each
// encode), the backends interleaved round by round; and what each one's packets decode to
// (segmental SNR against the input, decoded by the same WASM decoder), so a faster encoder that
// sounds worse would show. Pin it to one core for figures to quote: taskset -c 1 npm run bench opus-encoder
import { parseArgs } from "node:util";
import { OpusDecoder, OpusEncoder } from "../src/audio/codecs/opus.js";
import type { OpusEncoderBackend } from "../src/audio/codecs/opus-encoder-state.js";
import { DEFAULT_SPEECH, segmentalSnr, speechAt } from "./audio/speech.js";

const { values, positionals } = parseArgs({
  options: { rounds: { type: "string", default: "3" } },
  allowPositionals: true,
});
const path = positionals[0] ?? DEFAULT_SPEECH;
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds must be a whole number ≥ 1");

const CASES = [
  { name: "echo", rate: 16000, complexity: 1 },
  { name: "bridge back to a Twilio caller", rate: 8000, complexity: 1 },
  { name: "WHEP listener", rate: 48000, complexity: 3 },
] as const;
const BACKENDS: OpusEncoderBackend[] = ["wasm", "native"];

function run(backend: OpusEncoderBackend, speech: Int16Array, rate: number, complexity: number) {
  const frame = rate / 50;
  const frames = Math.floor(speech.length / frame);
  const enc = new OpusEncoder({ rate, complexity, backend });
  const dec = new OpusDecoder({ rate });
  const out = new Int16Array(frames * frame);
  let us = 0;
  let bytes = 0;
  for (let f = 0; f < frames; f++) {
    const t = process.cpuUsage();
    const p = enc.encode(speech.subarray(f * frame, f * frame + frame));
    const d = process.cpuUsage(t);
    us += d.user + d.system;
    bytes += p.length;
    out.set(dec.decode(p), f * frame);
  }
  enc.destroy();
  dec.destroy();
  return { us: us / frames, bytes: bytes / frames, snr: segmentalSnr(speech, out, rate, frame) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(
  `opus encoder, native addon vs WASM (anchor), same run: ${path}, ${rounds} rounds interleaved, ${new Date().toISOString()}\n`,
);
console.log(
  "| case | rate, complexity | WASM µs / frame (median, min–max) | native µs / frame | native ÷ WASM (paired, median) | bytes / packet WASM / native | segmental SNR WASM / native |",
);
console.log("|---|---|---:|---:|---:|---:|---:|");
for (const c of CASES) {
  const { pcm } = await speechAt(path, c.rate);
  const res: Record<OpusEncoderBackend, ReturnType<typeof run>[]> = { wasm: [], native: [] };
  for (let r = 0; r < rounds; r++) for (const b of BACKENDS) res[b].push(run(b, pcm, c.rate, c.complexity));
  const us = (b: OpusEncoderBackend) => res[b].map((x) => x.us);
  const ratios = res.native.map((x, i) => x.us / res.wasm[i]!.us);
  const range = (xs: number[]) =>
    `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
  console.log(
    `| ${c.name} | ${c.rate / 1000} kHz, ${c.complexity} | ${range(us("wasm"))} | ${range(us("native"))} | ${median(ratios).toFixed(2)}× | ${res.wasm[0]!.bytes.toFixed(1)} / ${res.native[0]!.bytes.toFixed(1)} | ${res.wasm[0]!.snr.toFixed(2)} / ${res.native[0]!.snr.toFixed(2)} dB |`,
  );
}
