// Real speech for the codec benches: the demo recording Debian's python3-aiortc ships (the test
// set-up installs it), or any mono 16-bit WAV; and the quality measure they share.
import { readFileSync } from "node:fs";
import { createResampler, loadResampler, type SampleRate } from "../../src/audio/resampler/index.js";
import { readWav as parseWav } from "../../test/e2e/wav.js";

export const DEFAULT_SPEECH = "/usr/share/doc/python3-aiortc/examples/server/demo-instruct.wav";

/** a mono 16-bit PCM WAV (the tests' chunk walker, test/e2e/wav.ts) */
export function readWav(file: string): { rate: number; pcm: Int16Array } {
  const wav = parseWav(readFileSync(file));
  if (wav.format !== 1 || wav.channels !== 1 || wav.bits !== 16)
    throw new Error(`${file}: want mono 16-bit PCM`);
  return { rate: wav.rate, pcm: wav.samples };
}

/** the speech file at `outRate` (our resampler, voice preset), and its own rate */
export async function speechAt(
  file: string,
  outRate: number,
): Promise<{ sourceRate: number; pcm: Int16Array }> {
  await loadResampler();
  const { rate, pcm } = readWav(file);
  if (rate === outRate) return { sourceRate: rate, pcm };
  const r = createResampler({ inRate: rate as SampleRate, outRate: outRate as SampleRate, channels: 1 });
  return { sourceRate: rate, pcm: Int16Array.from([...r.processI16(pcm), ...r.flushI16()]) };
}

/**
 * Segmental SNR (dB) of `out` against `ref` over voiced frames of `frame` samples, after aligning
 * for the codec's delay (the lag of best correlation, searched up to `maxLag`). A crude proxy
 * for how speech sounds (libopus shapes its noise on purpose): compare rows, not absolutes.
 */
export function segmentalSnr(ref: Int16Array, out: Int16Array, rate: number, frame: number): number {
  const maxLag = Math.round(rate / 48);
  let best = Number.NEGATIVE_INFINITY;
  let lag = 0;
  for (let d = 0; d < maxLag; d++) {
    let c = 0;
    for (let i = rate; i < Math.min(ref.length - maxLag, rate * 8); i += 5) c += ref[i]! * out[i + d]!;
    if (c > best) [best, lag] = [c, d];
  }
  let sum = 0;
  let n = 0;
  const frames = Math.floor((ref.length - maxLag) / frame);
  for (let f = 0; f < frames; f++) {
    let s = 0;
    let e = 0;
    for (let i = f * frame; i < f * frame + frame; i++) {
      const a = ref[i]!;
      s += a * a;
      e += (a - out[i + lag]!) ** 2;
    }
    if (s > frame * 300 * 300) {
      sum += 10 * Math.log10(s / Math.max(e, 1));
      n++;
    }
  }
  return sum / n;
}
