// One shared 20 ms clock per process: every session's receive timeline (jitter buffer release,
// concealment, pacing) is driven from here rather than from one timer per session, so 400
// sessions cost one timer wake-up per frame, not 400.

export type TickFn = (nowMs: number) => void;

export class SharedTicker {
  private readonly subscribers = new Set<TickFn>();
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  /** ticks that fired more than one period late (the event loop was busy) */
  lateTicks = 0;

  constructor(readonly periodMs = 20) {}

  subscribe(fn: TickFn): () => void {
    this.subscribers.add(fn);
    if (!this.timer) this.start();
    return () => {
      this.subscribers.delete(fn);
      if (this.subscribers.size === 0) this.stop();
    };
  }

  get size(): number {
    return this.subscribers.size;
  }

  private start() {
    this.next = performance.now() + this.periodMs;
    this.schedule();
  }

  // Drift-corrected: each tick is scheduled against the ideal time line, not "now + period".
  private schedule() {
    const delay = Math.max(0, this.next - performance.now());
    this.timer = setTimeout(() => this.fire(), delay);
    this.timer.unref?.();
  }

  private fire() {
    const now = performance.now();
    if (now - this.next > this.periodMs) this.lateTicks++;
    // skip ticks we cannot catch up on rather than bursting (the timeline conceals the gap)
    while (this.next <= now) this.next += this.periodMs;
    const wall = Date.now();
    for (const fn of this.subscribers) {
      try {
        fn(wall);
      } catch {
        // one session's bug must not stop everyone's clock; sessions log their own errors
      }
    }
    if (this.subscribers.size > 0) this.schedule();
    else this.timer = undefined;
  }

  stop() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

let shared: SharedTicker | undefined;
/** The process-wide ticker (all media nodes of a process share it). */
export function processTicker(): SharedTicker {
  shared ??= new SharedTicker(20);
  return shared;
}
