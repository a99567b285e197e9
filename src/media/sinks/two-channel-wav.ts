// A bridged call's recording: one stereo WAV, the caller on the left and the agent on the right,
// on one timeline (the session's start). Each side is placed at the time it was heard: the
// caller's audio at its arrival time (the receive timeline's pts), the agent's at the time its
// frame left as RTP — so a barge-in shows as the right channel stopping where the caller heard it
// stop. A side with nothing at a position is silence there; samples are written as soon as both
// sides have reached them, the longer side's tail at close.
import type { AudioFrame } from "../frame.js";
import type { FrameConsumer } from "../track.js";
import { WavWriter, type WavWriterOptions } from "./wav-writer.js";

class Side {
  chunks: Int16Array[] = [];
  /** samples queued in `chunks` */
  queued = 0;
  /** timeline position (samples) just after the last queued sample */
  end = 0;

  /** place `samples` at timeline position `at`: pad a gap with silence, drop an overlap */
  put(samples: Int16Array, at: number): void {
    if (at > this.end) {
      this.chunks.push(new Int16Array(at - this.end));
      this.queued += at - this.end;
      this.end = at;
    }
    const skip = this.end - at;
    if (skip >= samples.length) return;
    const s = skip > 0 ? samples.subarray(skip) : samples;
    this.chunks.push(s);
    this.queued += s.length;
    this.end += s.length;
  }

  /** take exactly `n` samples from the front (silence beyond what is queued) */
  take(n: number): Int16Array {
    const out = new Int16Array(n);
    let o = 0;
    while (o < n && this.chunks.length > 0) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - o);
      out.set(c.subarray(0, k), o);
      o += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.queued -= Math.min(this.queued, o);
    return out;
  }
}

export class TwoChannelWav {
  readonly wav: WavWriter;
  readonly rate: number;
  readonly #left = new Side();
  readonly #right = new Side();
  /** timeline position written so far (both sides) */
  #written = 0;
  #closed = false;

  constructor(path: string, rate: number, limits: Omit<WavWriterOptions, "rate" | "channels"> = {}) {
    this.rate = rate;
    this.wav = new WavWriter(path, { ...limits, rate, channels: 2 });
  }

  /** the caller's audio: frames at `rate`, pts = timeline position in samples */
  readonly caller: FrameConsumer = {
    onFrame: (f: AudioFrame) => this.#put(this.#left, f.samples, f.pts),
  };

  /** the agent's audio at `rate`, placed at timeline position `at` (samples) */
  agent(samples: Int16Array, at: number): void {
    this.#put(this.#right, samples, at);
  }

  #put(side: Side, samples: Int16Array, at: number): void {
    if (this.#closed) return;
    side.put(samples, Math.max(at, this.#written));
    this.#flush(Math.min(this.#left.end, this.#right.end));
  }

  #flush(upTo: number): void {
    const n = upTo - this.#written;
    if (n <= 0) return;
    const l = this.#left.take(n);
    const r = this.#right.take(n);
    const out = new Int16Array(n * 2);
    for (let i = 0; i < n; i++) {
      out[2 * i] = l[i]!;
      out[2 * i + 1] = r[i]!;
    }
    this.#written = upTo;
    this.wav.write(out);
  }

  /** the call ended: the longer side's tail is written (the other side silent), the file closed */
  get path(): string {
    return this.wav.path;
  }

  close(): string {
    if (!this.#closed) {
      this.#flush(Math.max(this.#left.end, this.#right.end));
      this.#closed = true;
      this.wav.close();
    }
    return this.wav.path;
  }
}
