// npm run bench opus-complexity [-- <speech.wav>]: what a lower Opus encoder complexity costs in
// quality, on real speech, beside what it saves in CPU — the echo profile's encoder is most of
// its CPU (docs/pipeline.md). Speech (any mono 16-bit WAV; default: the demo recording Debian's
// python3-aiortc ships, which the test set-up installs) → 48 kHz → encode at complexity c →
// decode → segmental SNR against the input over voiced 20 ms segments. The anchor is complexity
// 10, measured in the same run. SNR is a crude proxy for how speech sounds (libopus shapes its
// noise on purpose), so read the differences between rows, not the absolute figures.
process.env.OPUS_FORCE_WASM = "1";

import { readFileSync } from "node:fs";
import { OpusDecoder, OpusEncoder } from "../src/audio/codecs/opus.js";
import { createResampler, loadResampler, type SampleRate } from "../src/audio/resampler/index.js";

const path = process.argv[2] ?? "/usr/share/doc/python3-aiortc/examples/server/demo-instruct.wav";

function readWav(file: string): { rate: number; pcm: Int16Array } {
  const b = readFileSync(file);
  if (b.toString("ascii", 0, 4) !== "RIFF" || b.toString("ascii", 8, 12) !== "WAVE")
    throw new Error(`${file}: not a WAV`);
  let o = 12;
  let rate = 0;
  while (o + 8 <= b.length) {
    const id = b.toString("ascii", o, o + 4);
    const size = b.readUInt32LE(o + 4);
    if (id === "fmt ") {
      if (b.readUInt16LE(o + 8) !== 1 || b.readUInt16LE(o + 10) !== 1 || b.readUInt16LE(o + 22) !== 16)
        throw new Error(`${file}: want mono 16-bit PCM`);
      rate = b.readUInt32LE(o + 12);
    } else if (id === "data") {
      const bytes = b.subarray(o + 8, o + 8 + Math.min(size, b.length - o - 8));
      return {
        rate,
        pcm: new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + (bytes.length & ~1))),
      };
    }
    o += 8 + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}

await loadResampler();
const { rate, pcm } = readWav(path);
const up = createResampler({ inRate: rate as SampleRate, outRate: 48000, channels: 1 });
const speech = Int16Array.from([...up.processI16(pcm), ...up.flushI16()]);
const frames = Math.floor(speech.length / 960);

function run(complexity: number, celt = false) {
  // celt: CELT only (restricted low delay), the transform codec alone — no SILK, so no in-band FEC
  const enc = new OpusEncoder({ complexity, ...(celt ? { application: "lowdelay", inbandFec: false } : {}) });
  const dec = new OpusDecoder();
  const out = new Int16Array(frames * 960);
  let encodeUs = 0;
  for (let f = 0; f < frames; f++) {
    const t = process.cpuUsage();
    const p = enc.encode(speech.subarray(f * 960, f * 960 + 960));
    const d = process.cpuUsage(t);
    encodeUs += d.user + d.system;
    out.set(dec.decode(p), f * 960);
  }
  enc.destroy();
  dec.destroy();
  // align for the codec's delay: the lag of best correlation
  let best = Number.NEGATIVE_INFINITY;
  let lag = 0;
  for (let d = 0; d < 1000; d++) {
    let c = 0;
    for (let i = 48_000; i < Math.min(speech.length - 1000, 48_000 * 8); i += 5)
      c += speech[i]! * out[i + d]!;
    if (c > best) [best, lag] = [c, d];
  }
  let sum = 0;
  let n = 0;
  for (let f = 0; f < frames - 2; f++) {
    let s = 0;
    let e = 0;
    for (let i = f * 960; i < f * 960 + 960; i++) {
      const a = speech[i]!;
      s += a * a;
      e += (a - out[i + lag]!) ** 2;
    }
    if (s > 960 * 300 * 300) {
      sum += 10 * Math.log10(s / Math.max(e, 1));
      n++;
    }
  }
  return { snr: sum / n, segments: n, encodeUs: encodeUs / frames };
}

console.log(
  `opus complexity on speech: ${path} (${(pcm.length / rate).toFixed(1)} s at ${rate} Hz → 48 kHz, 32 kbps voip)\n`,
);
console.log("| complexity | segmental SNR | vs complexity 10 | encode µs / 20 ms frame | vs complexity 10 |");
console.log("|---:|---:|---:|---:|---:|");
const anchor = run(10);
for (const c of [0, 1, 2, 3, 5, 10]) {
  const r = c === 10 ? anchor : run(c);
  console.log(
    `| ${c}${c === 10 ? " (anchor)" : ""} | ${r.snr.toFixed(2)} dB | ${(r.snr - anchor.snr).toFixed(2)} dB | ${r.encodeUs.toFixed(1)} | ${(r.encodeUs / anchor.encodeUs).toFixed(2)}× |`,
  );
}
// The CELT-only mode, for comparison: what the encoder would cost without SILK. Segmental SNR
// measures the waveform, which a transform codec keeps closer than SILK's noise-shaped LPC: read
// its SNR as "no worse", not as "better sounding" (libopus itself picks SILK/hybrid for speech
// below ~64 kbps), and note what it gives up — in-band FEC exists only in SILK frames.
for (const c of [0, 1]) {
  const r = run(c, true);
  console.log(
    `| ${c}, CELT only | ${r.snr.toFixed(2)} dB | ${(r.snr - anchor.snr).toFixed(2)} dB | ${r.encodeUs.toFixed(1)} | ${(r.encodeUs / anchor.encodeUs).toFixed(2)}× |`,
  );
}
