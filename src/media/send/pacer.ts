// The pacer: one tick every `periodMs`, scheduled against an absolute time line
// (t0 + n·period on the monotonic clock), never "now + period", so timer lateness does not
// accumulate: over an hour the pacer emits exactly 3600 s / 20 ms ticks.
//
// When the event loop stalls, the ticks that fell due are caught up in a short burst (at most
// `maxCatchUp`); older ones are skipped and counted — a receiver conceals a short gap better than
// it absorbs a burst of stale audio.
//
// Driven by a shared tick source (`ticks`: the node's 20 ms ticker) the pacer has no timer: each
// call from the source emits the ticks that fell due by then, on the same grid and with the same
// catch-up and skip rule. A timer per pacer is a loop wake-up of its own per session-frame
// unless something else woke the loop just before (~80–120 µs of CPU each on this project's VM);
// on the shared ticker a bridged session's audio back rides the wake-ups the echo rides.
import { type Clock, realClock, type TickSource, type TimerHandle } from "../clock.js";

export interface PacerOptions {
  clock?: Clock;
  /** default 20 ms */
  periodMs?: number;
  /** ticks caught up in one wake-up after a stall (default 3); older due ticks are skipped */
  maxCatchUp?: number;
  /**
   * Run on this shared periodic source (same period) instead of a timer of its own. The grid is
   * anchored on the first call's due time (the source's slice): a call L ms late then is exactly
   * what a timer L ms late is — the same catch-up, the same skip (L ≥ maxCatchUp periods). A
   * source that gives no due time: anchored half a period before the first call, so its calls
   * may come up to half a period early or late and still emit exactly one tick each.
   */
  ticks?: TickSource;
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

/** see #drive */
const SLACK_MS = 0.01;

export class Pacer {
  readonly #clock: Clock;
  readonly #period: number;
  readonly #maxCatchUp: number;
  #t0 = 0;
  /** index of the next tick to emit */
  #next = 0;
  #timer: TimerHandle | undefined;
  readonly #ticks: TickSource | undefined;
  #unsubscribe: (() => void) | undefined;
  /** driven: the grid is anchored at the source's first call after start() */
  #anchored = false;
  #running = false;
  readonly #stats: PacerStats = { ticks: 0, skipped: 0, lateWakeups: 0, maxLateMs: 0 };

  constructor(
    private readonly onTick: TickHandler,
    opts: PacerOptions = {},
  ) {
    this.#clock = opts.clock ?? realClock;
    this.#period = opts.periodMs ?? 20;
    this.#maxCatchUp = Math.max(1, opts.maxCatchUp ?? 3);
    this.#ticks = opts.ticks;
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
    if (this.#ticks) {
      this.#anchored = false;
      this.#unsubscribe = this.#ticks.subscribe((_wall, due) => this.#drive(due));
    } else this.#schedule();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
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

  /** a call from the shared source: the first one anchors the grid (tick 0 due at its due time,
   *  or half a period before it runs), every later one emits what fell due */
  #drive(dueMs: number | undefined): void {
    if (!this.#running) return;
    if (!this.#anchored) {
      this.#anchored = true;
      // SLACK: the source's due times are sums of float slices; a call on time must not read as
      // a hair early and emit nothing
      this.#t0 =
        dueMs !== undefined ? dueMs - this.#period - SLACK_MS : this.#clock.now() - this.#period * 1.5;
    }
    this.#emitDue();
  }

  #fire(): void {
    this.#timer = undefined;
    if (!this.#running) return;
    this.#emitDue();
    if (this.#running) this.#schedule();
  }

  #emitDue(): void {
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
  }
}
