// The pacer: one tick every `periodMs`, scheduled against an absolute time line
// (t0 + n·period on the monotonic clock), never "now + period", so timer lateness does not
// accumulate: over an hour the pacer emits exactly 3600 s / 20 ms ticks.
//
// When the event loop stalls, the ticks that fell due are caught up in a short burst (at most
// `maxCatchUp`); older ones are skipped and counted — a receiver conceals a short gap better than
// it absorbs a burst of stale audio.
import { type Clock, realClock, type TimerHandle } from "../clock.js";

export interface PacerOptions {
  clock?: Clock;
  /** default 20 ms */
  periodMs?: number;
  /** ticks caught up in one wake-up after a stall (default 3); older due ticks are skipped */
  maxCatchUp?: number;
}

export interface PacerStats {
  ticks: number;
  /** ticks skipped after a stall */
  skipped: number;
  /** wake-ups that came more than one period after their target */
  lateWakeups: number;
  /** largest lateness seen, ms */
  maxLateMs: number;
}

/** called once per period with the tick index (0, 1, … with gaps only after skips) and its target time */
export type TickHandler = (index: number, targetMs: number) => void;

export class Pacer {
  readonly #clock: Clock;
  readonly #period: number;
  readonly #maxCatchUp: number;
  #t0 = 0;
  /** index of the next tick to emit */
  #next = 0;
  #timer: TimerHandle | undefined;
  #running = false;
  readonly #stats: PacerStats = { ticks: 0, skipped: 0, lateWakeups: 0, maxLateMs: 0 };

  constructor(
    private readonly onTick: TickHandler,
    opts: PacerOptions = {},
  ) {
    this.#clock = opts.clock ?? realClock;
    this.#period = opts.periodMs ?? 20;
    this.#maxCatchUp = Math.max(1, opts.maxCatchUp ?? 3);
  }

  get running(): boolean {
    return this.#running;
  }

  /** start the time line now; the first tick falls due one period from now */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#t0 = this.#clock.now();
    this.#next = 1;
    this.#schedule();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  stats(): PacerStats {
    return { ...this.#stats };
  }

  #target(index: number): number {
    return this.#t0 + index * this.#period;
  }

  #schedule(): void {
    this.#timer = this.#clock.setTimeout(() => this.#fire(), this.#target(this.#next) - this.#clock.now());
  }

  #fire(): void {
    this.#timer = undefined;
    if (!this.#running) return;
    const now = this.#clock.now();
    const late = now - this.#target(this.#next);
    if (late > this.#period) this.#stats.lateWakeups++;
    if (late > this.#stats.maxLateMs) this.#stats.maxLateMs = late;
    const due = Math.floor((now - this.#t0) / this.#period); // last index whose target has passed
    const behind = due - this.#next + 1;
    if (behind > this.#maxCatchUp) {
      const skip = behind - this.#maxCatchUp;
      this.#stats.skipped += skip;
      this.#next += skip;
    }
    while (this.#running && this.#next <= due) {
      const index = this.#next++;
      this.#stats.ticks++;
      this.onTick(index - 1, this.#target(index));
    }
    if (this.#running) this.#schedule();
  }
}
