// What a naive server writes for itself: a linear resampler and a streaming WAV file.
import { closeSync, openSync, writeSync } from "node:fs";

/** Linear interpolation from one rate to another, stateful across frames (the previous frame's
 *  last sample joins them; positions in exact integer steps, so 960 samples at 48 kHz always give
 *  320 at 16 kHz; 16 → 48 kHz gives 958 then 960 per 320: a 2-sample delay). No anti-alias
 *  filter: the naive way. */
export class LinearResampler {
  /** position of the next output sample in 1/to of an input sample, from this frame's first */
  private pos = 0;
  private prev = 0;
  constructor(
    private readonly from: number,
    private readonly to: number,
  ) {}
  process(input: Int16Array): Int16Array {
    const { from, to } = this;
    const last = (input.length - 1) * to;
    const out = new Int16Array(Math.max(0, Math.floor((last - this.pos) / from) + 1));
    let n = 0;
    let p = this.pos;
    for (; p <= last; p += from) {
      const i = Math.floor(p / to); // -1 … length-1
      const f = (p - i * to) / to;
      const a = i < 0 ? this.prev : input[i]!;
      out[n++] = f === 0 ? a : a + (input[i + 1]! - a) * f;
    }
    this.pos = p - input.length * to;
    this.prev = input[input.length - 1] ?? this.prev;
    return out.subarray(0, n);
  }
}

/** 16-bit mono WAV written frame by frame; the header's sizes are patched on close. */
export class WavWriter {
  private readonly fd: number;
  private bytes = 0;
  constructor(
    path: string,
    private readonly rate: number,
  ) {
    this.fd = openSync(path, "w");
    writeSync(this.fd, this.header(0));
  }
  write(pcm: Int16Array) {
    writeSync(this.fd, new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength));
    this.bytes += pcm.byteLength;
  }
  close() {
    writeSync(this.fd, this.header(this.bytes), 0, 44, 0);
    closeSync(this.fd);
  }
  private header(dataBytes: number): Buffer {
    const h = Buffer.alloc(44);
    h.write("RIFF", 0);
    h.writeUInt32LE(36 + dataBytes, 4);
    h.write("WAVEfmt ", 8);
    h.writeUInt32LE(16, 16);
    h.writeUInt16LE(1, 20); // PCM
    h.writeUInt16LE(1, 22); // mono
    h.writeUInt32LE(this.rate, 24);
    h.writeUInt32LE(this.rate * 2, 28);
    h.writeUInt16LE(2, 32);
    h.writeUInt16LE(16, 34);
    h.write("data", 36);
    h.writeUInt32LE(dataBytes, 40);
    return h;
  }
}
