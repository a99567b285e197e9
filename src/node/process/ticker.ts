// One shared 20 ms clock per process: every session's receive timeline (jitter buffer release,
// concealment, pacing) is driven from here rather than from one timer per session, so 400
// sessions cost a handful of timer wake-ups per frame, not 400.
//
// Sessions are spread over `phases` slices of the period (4 × 5 ms by default): each session
// still ticks every 20 ms, but the work of one tick is a quarter of the sessions, so the event
// loop is never blocked for a whole frame's worth of decoding at once (lower loop p99, smoother
// sending).

export type TickFn = (nowMs: number) => void;

export class SharedTicker {
  private readonly slices: Set<TickFn>[];
  private readonly sliceOf = new Map<TickFn, number>();
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  private phase = 0;
  private count = 0;
  /** wake-ups that fired more than one slice late (the event loop was busy) */
  lateTicks = 0;

  constructor(
    readonly periodMs = 20,
    readonly phases = 4,
  ) {
    this.slices = Array.from({ length: phases }, () => new Set<TickFn>());
  }

  private get sliceMs() {
    return this.periodMs / this.phases;
  }

  subscribe(fn: TickFn): () => void {
    // the least-filled slice keeps the phases balanced as sessions come and go
    let best = 0;
    for (let i = 1; i < this.phases; i++) if (this.slices[i]!.size < this.slices[best]!.size) best = i;
    this.slices[best]!.add(fn);
    this.sliceOf.set(fn, best);
    this.count++;
    if (!this.timer) this.start();
    return () => {
      const i = this.sliceOf.get(fn);
      if (i === undefined) return;
      this.sliceOf.delete(fn);
      this.slices[i]!.delete(fn);
      this.count--;
      if (this.count === 0) this.stop();
    };
  }

  get size(): number {
    return this.count;
  }

  private start() {
    this.next = performance.now() + this.sliceMs;
    this.schedule();
  }

  // Drift-corrected: each wake-up is scheduled against the ideal time line, not "now + slice".
  private schedule() {
    const delay = Math.max(0, this.next - performance.now());
    this.timer = setTimeout(() => this.fire(), delay);
    this.timer.unref?.();
  }

  // The timer only schedules: the slices run in the check phase (setImmediate), after the poll
  // phase has delivered the I/O that is already waiting — node-datachannel's packet callbacks
  // among it. After a stall, libuv runs timers before I/O; ticking right away would play out
  // slots as lost whose packets sit in the queue right behind the timer.
  // (The immediate stays ref'd: an unref'd one does not keep the poll phase from blocking, so
  // the slices would wait for the next unrelated event.)
  private fire() {
    setImmediate(() => this.runDue());
  }

  private runDue() {
    if (!this.timer) return; // stopped meanwhile
    const now = performance.now();
    if (now - this.next > this.sliceMs) this.lateTicks++;
    const wall = Date.now();
    // run every slice whose time has come (after a stall, each runs once: the timeline itself
    // emits all frames due by `wall`, so nothing is lost by not repeating)
    let runs = 0;
    while (this.next <= now && runs < this.phases) {
      this.runSlice(this.phase, wall);
      this.phase = (this.phase + 1) % this.phases;
      this.next += this.sliceMs;
      runs++;
    }
    while (this.next <= now) {
      this.next += this.sliceMs;
      this.phase = (this.phase + 1) % this.phases;
    }
    if (this.count > 0) this.schedule();
    else this.timer = undefined;
  }

  private runSlice(i: number, wall: number) {
    for (const fn of this.slices[i]!) {
      try {
        fn(wall);
      } catch {
        // one session's bug must not stop everyone's clock; sessions log their own errors
      }
    }
  }

  stop() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

let shared: SharedTicker | undefined;
/** The process-wide ticker (all media nodes of a process share it). */
export function processTicker(): SharedTicker {
  shared ??= new SharedTicker(20, 4);
  return shared;
}
