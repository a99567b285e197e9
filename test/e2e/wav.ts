// Small WAV helpers for the browser tests: write a test tone, read a recording back, and find the
// dominant frequency (Goertzel scan — no FFT library needed for one peak).

export function toneWav(hz: number, seconds: number, rate = 48000, amplitude = 0.5): Buffer {
  const n = Math.round(seconds * rate);
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++)
    data.writeInt16LE(Math.round(Math.sin((2 * Math.PI * hz * i) / rate) * amplitude * 32767), i * 2);
  return Buffer.concat([wavHeader(rate, 1, data.length), data]);
}

/** a speaker's turn, looped by Chromium's fake capture: `toneS` of `hz`, then `silenceS` of silence */
export function turnWav(hz: number, toneS: number, silenceS: number, rate = 48000, amplitude = 0.5): Buffer {
  const tone = toneWav(hz, toneS, rate, amplitude).subarray(44);
  const data = Buffer.concat([tone, Buffer.alloc(Math.round(silenceS * rate) * 2)]);
  return Buffer.concat([wavHeader(rate, 1, data.length), data]);
}

function wavHeader(rate: number, channels: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(44);
  h.write("RIFF", 0);
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write("WAVE", 8);
  h.write("fmt ", 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36);
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

export interface Wav {
  /** the fmt chunk's format tag: 1 = integer PCM */
  format: number;
  rate: number;
  channels: number;
  bits: number;
  samples: Int16Array;
}

/** Reads a PCM WAV, walking the chunks (a writer may add LIST or other chunks). */
export function readWav(buf: Buffer): Wav {
  if (buf.toString("ascii", 0, 4) !== "RIFF" || buf.toString("ascii", 8, 12) !== "WAVE")
    throw new Error("not a WAV file");
  let off = 12;
  let fmt: { format: number; rate: number; channels: number; bits: number } | undefined;
  while (off + 8 <= buf.length) {
    const id = buf.toString("ascii", off, off + 4);
    let size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === "fmt ")
      fmt = {
        format: buf.readUInt16LE(body),
        channels: buf.readUInt16LE(body + 2),
        rate: buf.readUInt32LE(body + 4),
        bits: buf.readUInt16LE(body + 14),
      };
    if (id === "data") {
      if (!fmt) throw new Error("data before fmt");
      // a header not yet patched (size 0 or too big) means "to the end of the file"
      if (size === 0 || body + size > buf.length) size = buf.length - body;
      const samples = new Int16Array(Math.floor(size / 2));
      for (let i = 0; i < samples.length; i++) samples[i] = buf.readInt16LE(body + i * 2);
      return { ...fmt, samples };
    }
    off = body + size + (size & 1);
  }
  throw new Error("no data chunk");
}

/** The frequency (Hz, to `step`) with the most energy in [lo, hi]. */
export function dominantHz(
  samples: Int16Array | Float32Array,
  rate: number,
  lo = 50,
  hi = 4000,
  step = 2,
): number {
  let best = lo;
  let bestPower = -1;
  for (let f = lo; f <= hi; f += step) {
    const coeff = 2 * Math.cos((2 * Math.PI * f) / rate);
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < samples.length; i++) {
      const s0 = samples[i]! + coeff * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    if (power > bestPower) {
      bestPower = power;
      best = f;
    }
  }
  return best;
}
