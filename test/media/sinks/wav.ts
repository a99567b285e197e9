// A small independent WAV reader for the tests: checks the RIFF structure and returns the claims.
import { readFileSync } from "node:fs";

export interface ParsedWav {
  fileBytes: number;
  riffSize: number;
  format: number;
  channels: number;
  rate: number;
  bitsPerSample: number;
  dataOffset: number;
  dataBytes: number;
  samples: Int16Array;
}

export function parseWav(path: string): ParsedWav {
  const b = readFileSync(path);
  if (b.toString("ascii", 0, 4) !== "RIFF" || b.toString("ascii", 8, 12) !== "WAVE")
    throw new Error("not RIFF/WAVE");
  let off = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  while (off + 8 <= b.length) {
    const id = b.toString("ascii", off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === "fmt ") {
      fmt = {
        format: b.readUInt16LE(off + 8),
        channels: b.readUInt16LE(off + 10),
        rate: b.readUInt32LE(off + 12),
        bits: b.readUInt16LE(off + 22),
      };
    } else if (id === "data") {
      if (!fmt) throw new Error("data before fmt");
      if (off + 8 + size > b.length)
        throw new Error(`data claims ${size} bytes, file has ${b.length - off - 8}`);
      const data = b.subarray(off + 8, off + 8 + size);
      return {
        fileBytes: b.length,
        riffSize: b.readUInt32LE(4),
        format: fmt.format,
        channels: fmt.channels,
        rate: fmt.rate,
        bitsPerSample: fmt.bits,
        dataOffset: off + 8,
        dataBytes: size,
        samples: new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + size)),
      };
    }
    off += 8 + size + (size & 1);
  }
  throw new Error("no data chunk");
}

/** dominant frequency by zero crossings (good enough for a clean tone) */
export function zeroCrossingHz(samples: Int16Array, rate: number, channels = 1): number {
  let crossings = 0;
  let prev = samples[0]!;
  const n = samples.length / channels;
  for (let i = 1; i < n; i++) {
    const v = samples[i * channels]!;
    if ((prev < 0 && v >= 0) || (prev >= 0 && v < 0)) crossings++;
    prev = v;
  }
  return (crossings / 2) * (rate / n);
}

/** Goertzel power of one frequency */
function goertzel(samples: Int16Array, rate: number, hz: number, channels: number): number {
  const w = (2 * Math.PI * hz) / rate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < samples.length; i += channels) {
    const s0 = samples[i]! + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

/** the strongest frequency on a 5 Hz grid between 50 Hz and 4 kHz (robust to codec noise) */
export function dominantHz(samples: Int16Array, rate: number, channels = 1): number {
  let best = 0;
  let bestP = -1;
  for (let hz = 50; hz <= 4000; hz += 5) {
    const p = goertzel(samples, rate, hz, channels);
    if (p > bestP) {
      bestP = p;
      best = hz;
    }
  }
  return best;
}
