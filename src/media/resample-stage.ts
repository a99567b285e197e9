// Frames at one rate/layout in, frames at another out, on a contiguous timeline: the output pts
// is the count of samples handed out so far, so nothing downstream ever sees a gap. Wraps the
// WASM resampler (src/audio/resampler); a no-op pass-through when nothing changes.
import { createResampler } from "../audio/resampler/index.js";
import type { Resampler, SampleRate } from "../audio/resampler/types.js";
import type { AudioFrame } from "./frame.js";
import type { FrameConsumer } from "./track.js";

export interface ResampleStageOptions {
  inRate: number;
  inChannels: 1 | 2;
  outRate: number;
  /** 1 downmixes stereo input; 2 requires stereo input (no upmix here) */
  outChannels: 1 | 2;
  next: FrameConsumer;
  /**
   * Hand out the resampler's delay as leading silence (`latency` zero samples before the first
   * output). Without it the resampler keeps its last `latency` samples back, so a consumer that
   * cuts exact frames (the bridge's framer) completes each frame only with the next input frame:
   * a whole frame (20 ms) late. With it every input frame yields its whole output frame at once,
   * the audio `latency` samples (under 1 ms) later on the output timeline. The flush hands out the
   * tail less those `latency` samples (the call's last fraction of a millisecond), so the total
   * stays round(in × outRate / inRate). For live consumers; recorders keep the default.
   */
  leadIn?: boolean;
}

export class ResampleStage implements FrameConsumer {
  readonly #resampler: Resampler | undefined;
  readonly #next: FrameConsumer;
  readonly #outRate: number;
  readonly #outChannels: 1 | 2;
  #pts = 0;
  #lateMs: number | undefined;
  #leadIn: boolean;
  /** zero samples handed out ahead (leadIn), taken back off the tail at flush */
  #lead = 0;

  /** `await loadResampler()` once per process before constructing one */
  constructor(o: ResampleStageOptions) {
    this.#next = o.next;
    this.#outRate = o.outRate;
    this.#outChannels = o.outChannels;
    this.#leadIn = o.leadIn ?? false;
    if (o.inRate !== o.outRate || o.inChannels !== o.outChannels) {
      this.#resampler = createResampler({
        inRate: o.inRate as SampleRate,
        outRate: o.outRate as SampleRate,
        channels: o.inChannels,
        downmix: o.inChannels === 2 && o.outChannels === 1,
      });
    }
  }

  /** output delay in output samples (0 for a pass-through) */
  get latency(): number {
    return this.#resampler?.latency ?? 0;
  }

  /** returns the consumer's promise, if any, so a relay queues for a busy consumer behind us */
  onFrame(frame: AudioFrame): void | Promise<void> {
    // what comes out of this frame is as late as it (a catch-up frame stays one downstream)
    this.#lateMs = frame.lateMs;
    if (!this.#resampler) return this.#emit(frame.samples);
    // the resampler's output is a view valid until its next call: copy before handing it on
    let out = this.#resampler.processI16(frame.samples).slice();
    if (this.#leadIn) {
      this.#leadIn = false;
      this.#lead = this.#resampler.latency * this.#outChannels;
      const lead = new Int16Array(this.#lead + out.length);
      lead.set(out, lead.length - out.length);
      out = lead;
    }
    if (out.length > 0) return this.#emit(out);
  }

  /** hand out the resampler's tail (total out = round(in × outRate / inRate)) */
  flush(): void {
    if (!this.#resampler || this.#resampler.destroyed) return;
    const all = this.#resampler.flushI16();
    const tail = all.subarray(0, Math.max(0, all.length - this.#lead));
    // the tail goes out after the relay stopped queueing for us: a rejection must not go unhandled
    if (tail.length > 0) this.#emit(tail.slice())?.catch(() => {});
  }

  onEnd(reason: string): void {
    this.flush();
    this.destroy();
    this.#next.onEnd?.(reason);
  }

  destroy(): void {
    this.#resampler?.destroy();
  }

  #emit(samples: Int16Array): void | Promise<void> {
    const frame: AudioFrame = { pts: this.#pts, rate: this.#outRate, channels: this.#outChannels, samples };
    if (this.#lateMs !== undefined) frame.lateMs = this.#lateMs;
    this.#pts += samples.length / this.#outChannels;
    return this.#next.onFrame(frame);
  }
}
