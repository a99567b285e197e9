// Adaptive jitter-buffer depth. The depth is how long after a packet's nominal arrival its
// frame is emitted. It grows at once to cover the lateness actually observed (and a multiple of
// the RFC 3550 jitter estimate) and shrinks slowly, so one quiet second does not undo it.
// Changing it never changes what is emitted, only when: pts stay wall-clock true.

import { InterarrivalJitter } from "./interarrival-jitter.js";

export interface PlayoutDelayOptions {
  /** starting depth (default 40 ms) */
  initialMs?: number;
  /** lower bound (default 20 ms) */
  minMs?: number;
  /** upper bound (default 200 ms) */
  maxMs?: number;
}

const WINDOW = 100; // packets (2 s at 20 ms) over which the worst lateness is remembered
const MARGIN_MS = 5; // timer granularity slack
const JITTER_MULTIPLE = 3;
const SHRINK_MS_PER_FRAME = 0.5; // 25 ms per second at most

export class PlayoutDelay {
  readonly minMs: number;
  readonly maxMs: number;
  private delay: number;
  private readonly jitter: InterarrivalJitter;
  private readonly recent: number[] = [];

  constructor(clockRate: number, options: PlayoutDelayOptions = {}) {
    this.minMs = options.minMs ?? 20;
    this.maxMs = options.maxMs ?? 200;
    if (!(this.minMs > 0 && this.maxMs >= this.minMs)) {
      throw new RangeError(`jitter bounds must satisfy 0 < min ≤ max (got ${this.minMs}, ${this.maxMs})`);
    }
    this.delay = clamp(options.initialMs ?? 40, this.minMs, this.maxMs);
    this.jitter = new InterarrivalJitter(clockRate);
  }

  /** current depth in ms */
  get ms(): number {
    return this.delay;
  }

  /** RFC 3550 interarrival jitter estimate in ms */
  get jitterMs(): number {
    return this.jitter.ms;
  }

  /**
   * One packet on the current timeline: `lateness` is its arrival minus its nominal arrival
   * (ms; ≤ 0 when early).
   */
  observe(arrivalMs: number, timestamp: number, latenessMs: number): void {
    this.jitter.update(arrivalMs, timestamp);
    this.recent.push(latenessMs);
    if (this.recent.length > WINDOW) this.recent.shift();
    const target = this.target();
    if (target > this.delay) this.delay = target; // grow at once
  }

  /** called once per emitted frame: drift down toward the target */
  onFrame(): void {
    const target = this.target();
    if (target < this.delay) this.delay = Math.max(target, this.delay - SHRINK_MS_PER_FRAME);
  }

  /** the least lateness in the window (ms; negative = the earliest packet came that early), or 0 */
  get earliestMs(): number {
    let least = 0;
    for (const l of this.recent) if (l < least) least = l;
    return least;
  }

  /** the timeline's wall reference moved `ms` earlier: every lateness seen is that much larger */
  shift(ms: number): void {
    for (let i = 0; i < this.recent.length; i++) this.recent[i]! += ms;
  }

  /** the timeline was re-anchored: old lateness figures mean nothing now */
  rebase(): void {
    this.recent.length = 0;
    this.jitter.rebase();
  }

  private target(): number {
    let worst = Number.NEGATIVE_INFINITY;
    for (const l of this.recent) if (l > worst) worst = l;
    return clamp(Math.max(worst + MARGIN_MS, JITTER_MULTIPLE * this.jitter.ms), this.minMs, this.maxMs);
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}
