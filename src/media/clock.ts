// The pipeline's notion of time: a monotonic millisecond clock and one-shot timers, injectable so
// that every timing rule (pacing, flush intervals, limits) runs on a virtual clock in tests.

export type TimerHandle = { readonly id: number } | NodeJS.Timeout;

export interface Clock {
  /** monotonic milliseconds (performance.now() in production); never goes backwards */
  now(): number;
  /** run `fn` once at `now() + delayMs` or later */
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * A shared periodic wake-up (the media node's 20 ms ticker, src/node/process/ticker.ts): each
 * subscriber is called once per period, in the slice it was given. A pacer driven by one costs no
 * timer of its own (src/media/send/pacer.ts).
 */
export interface TickSource {
  /**
   * call `fn` once per period from now on; returns the unsubscribe. `dueMs`: when this call was
   * due, on the pacer's clock (performance.now() for the real one) — the call itself may run
   * later (a busy loop); a source that knows no due time leaves it out
   */
  subscribe(fn: (wallMs: number, dueMs?: number) => void): () => void;
}

/** The process clock: performance.now() and unref'd Node timers (a pacer never keeps a process alive). */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, delayMs) {
    const t = setTimeout(fn, Math.max(0, delayMs));
    t.unref?.();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

interface VirtualTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A deterministic clock for tests and simulations: time moves only when `advance()` is called and
 * due timers fire in time order (ties in creation order). `jitterMs` lets a test model a late
 * event loop: each timer fires that much after its due time.
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: VirtualTimer[] = [];
  /** extra lateness applied to each timer when it is scheduled (a busy event loop) */
  lateness: (() => number) | undefined;

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const late = this.lateness?.() ?? 0;
    const timer = { id: ++this.#seq, at: this.#now + Math.max(0, delayMs) + late, fn };
    this.#timers.push(timer);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    const id = (handle as { id: number }).id;
    this.#timers = this.#timers.filter((t) => t.id !== id);
  }

  /** pending timers (a stopped source must leave none behind) */
  get pending(): number {
    return this.#timers.length;
  }

  /** move time forward by `ms`, firing every timer that falls due, in order */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: VirtualTimer | undefined;
      for (const t of this.#timers) if (t.at <= end && (!next || t.at < next.at)) next = t;
      if (!next) break;
      this.#timers.splice(this.#timers.indexOf(next), 1);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = end;
  }
}
