// A sine tone source: one 20 ms frame per pacer tick, phase-continuous, only while subscribed.
// Its timer runs only between the first subscribe and the last unsubscribe (the aiortc lesson:
// a generator behind a relay must stop when nobody listens).
import type { Clock } from "../clock.js";
import type { AudioFrame } from "../frame.js";
import { Pacer, type PacerStats } from "../send/pacer.js";
import { SourceTrack } from "../track.js";

export interface ToneOptions {
  frequency?: number;
  /** 0..1 of full scale (default 0.3) */
  amplitude?: number;
  rate?: number;
  channels?: 1 | 2;
  frameMs?: number;
  clock?: Clock;
}

export class ToneSource extends SourceTrack {
  readonly frequency: number;
  readonly amplitude: number;
  readonly frameSamples: number;
  #pts = 0;
  #pacer: Pacer;

  constructor(opts: ToneOptions = {}) {
    super(opts.rate ?? 48000, opts.channels ?? 1);
    this.frequency = opts.frequency ?? 440;
    this.amplitude = opts.amplitude ?? 0.3;
    const frameMs = opts.frameMs ?? 20;
    this.frameSamples = Math.round((this.rate * frameMs) / 1000);
    this.#pacer = new Pacer(() => this.emitFrame(this.nextFrame()), { clock: opts.clock, periodMs: frameMs });
  }

  /** the next frame of the tone (also usable without the timer, e.g. by a benchmark) */
  nextFrame(): AudioFrame {
    const n = this.frameSamples;
    const ch = this.channels;
    const samples = new Int16Array(n * ch);
    const w = (2 * Math.PI * this.frequency) / this.rate;
    const a = this.amplitude * 32767;
    for (let i = 0; i < n; i++) {
      const v = Math.round(a * Math.sin(w * (this.#pts + i)));
      for (let c = 0; c < ch; c++) samples[i * ch + c] = v;
    }
    const frame: AudioFrame = { pts: this.#pts, rate: this.rate, channels: ch, samples };
    this.#pts += n;
    return frame;
  }

  get timerRunning(): boolean {
    return this.#pacer.running;
  }

  pacerStats(): PacerStats {
    return this.#pacer.stats();
  }

  protected produce(): void {
    this.#pacer.start();
  }

  protected halt(): void {
    this.#pacer.stop();
  }
}
