// npm run bench opus-complexity [-- <speech.wav>]: what a lower Opus encoder complexity costs in
// quality, on real speech, beside what it saves in CPU — the echo profile's encoder is most of
// its CPU (docs/pipeline.md). Speech (any mono 16-bit WAV; default: the demo recording Debian's
// python3-aiortc ships, which the test set-up installs) → 48 kHz → encode at complexity c →
// decode → segmental SNR against the input over voiced 20 ms segments. The anchor is complexity
// 10, measured in the same run. SNR is a crude proxy for how speech sounds (libopus shapes its
// noise on purpose), so read the differences between rows, not the absolute figures.
import { OpusDecoder, OpusEncoder } from "../src/audio/codecs/opus.js";
import { DEFAULT_SPEECH, segmentalSnr, speechAt } from "./audio/speech.js";

const path = process.argv[2] ?? DEFAULT_SPEECH;
// the WASM encoder, as the figures in docs/benchmarks.md were taken; the native one is
// `npm run bench opus-encoder`
const backend = "wasm" as const;
const { sourceRate: rate, pcm: speech } = await speechAt(path, 48000);
const frames = Math.floor(speech.length / 960);

function run(complexity: number, celt = false) {
  // celt: CELT only (restricted low delay), the transform codec alone — no SILK, so no in-band FEC
  const enc = new OpusEncoder({
    complexity,
    backend,
    ...(celt ? { application: "lowdelay", inbandFec: false } : {}),
  });
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
  return { snr: segmentalSnr(speech, out, 48000, 960), encodeUs: encodeUs / frames };
}

console.log(
  `opus complexity on speech: ${path} (${(speech.length / 48000).toFixed(1)} s, ${rate} Hz → 48 kHz, 32 kbps voip, ${backend} encoder)\n`,
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
