// One shared 20 ms clock per process: every session's receive timeline (jitter buffer release,
// concealment, pacing) is driven from here rather than from one timer per session, so 400
// sessions cost a handful of timer wake-ups per frame, not 400.
//
// Sessions are spread over `phases` slices of the period (4 × 5 ms by default): each session
// still ticks every 20 ms, but the work of one tick is a quarter of the sessions, so the event
// loop is never blocked for a whole frame's worth of decoding at once (lower loop p99, smoother
// sending). A slice is only opened once the ones before it hold `perSlice` sessions, and an
// empty slice costs no wake-up: 10 sessions tick in one wake-up per 20 ms, not four (a wake-up
// — timer, immediate, two clock reads — is a fixed cost the few-session node paid 4× for,
// issue 18), while 400 sessions still get the four-way spread.
//
// A wake-up of the loop is not free: on this project's VM a timer that wakes an idle loop costs
// ~80–120 µs of CPU (context switch, paravirtual timer and IRQ), measured alone on one core — the
// ticker's 200 wake-ups/s were ~1.5 % of a core. But the loop wakes anyway for every RTP packet
// (2500/s at 50 calls). So a packet that arrives when a slice is due runs it (`poke()`, called on
// every packet by the node): the slice is queued for the check phase of the same loop turn (after
// the poll phase delivered every packet waiting, as the timer path does) and the timer is re-armed
// for the next slice; the timer fires on its own only when no packet came in time (silence, few
// calls). Issue 18.

/** `nowMs`: wall clock (Date.now()) of this run; `dueMs`: when the slice was due, on
 *  performance.now() (a pacer on the ticker anchors its grid on it: src/media/send/pacer.ts) */
export type TickFn = (nowMs: number, dueMs: number) => void;

export class SharedTicker {
  private readonly slices: Set<TickFn>[];
  private readonly sliceOf = new Map<TickFn, number>();
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  private phase = 0;
  private count = 0;
  /** wake-ups that fired more than one slice late (the event loop was busy) */
  lateTicks = 0;

  /** slice runs so far (one per non-empty slice due), from the timer or a packet */
  wakeups = 0;
  /** of those, the ones the timer woke the loop for (the rest rode on a packet's wake-up) */
  timerWakeups = 0;
  private immediatePending = false;
  private active = false;
  /** the latest a wake-up ran after its slice was due (ms), since the last takeMaxLateMs() */
  private maxLateMs = 0;

  constructor(
    readonly periodMs = 20,
    readonly phases = 4,
    /** sessions a slice takes before the next one opens (1: spread from the first session) */
    readonly perSlice = 16,
  ) {
    this.slices = Array.from({ length: phases }, () => new Set<TickFn>());
  }

  private get sliceMs() {
    return this.periodMs / this.phases;
  }

  subscribe(fn: TickFn): () => void {
    // the first slice not yet holding perSlice sessions; past that, the least-filled one keeps
    // the phases balanced as sessions come and go
    let best = this.slices.findIndex((s) => s.size < this.perSlice);
    if (best < 0) {
      best = 0;
      for (let i = 1; i < this.phases; i++) if (this.slices[i]!.size < this.slices[best]!.size) best = i;
    }
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

  /**
   * How late the media clock ran (ms: the latest a slice ran after it was due) since the last
   * call, and start again: the load guard's lag signal (src/node/process/load-guard.ts). One
   * reader per process: a node process has one node (in-process nodes — tests, `rtcgw dev` —
   * draw no lag line).
   */
  takeMaxLateMs(): number {
    const m = this.maxLateMs;
    this.maxLateMs = 0;
    return m;
  }

  private start() {
    this.active = true;
    this.next = performance.now() + this.sliceMs;
    this.schedule();
  }

  /**
   * The loop is awake anyway (a packet came in): if a slice is due, run it in this turn's check
   * phase rather than waking the loop again for the timer. Cheap when nothing is due (one clock
   * read).
   */
  poke(): void {
    if (this.active && !this.immediatePending && performance.now() >= this.next) this.requestRun();
  }

  private requestRun() {
    if (this.immediatePending) return;
    this.immediatePending = true;
    setImmediate(() => this.runDue());
  }

  // Drift-corrected: each wake-up is scheduled against the ideal time line, not "now + slice".
  // Empty slices are stepped over (count > 0: some slice is not empty).
  private schedule() {
    for (let k = 0; k < this.phases && this.slices[this.phase]!.size === 0; k++) {
      this.next += this.sliceMs;
      this.phase = (this.phase + 1) % this.phases;
    }
    // whole milliseconds, rounded up: libuv's timers count whole ms, so a fractional delay fires
    // up to 1 ms before `next`, finds nothing due and costs a second wake-up (~40 % of them were)
    const delay = Math.max(0, Math.ceil(this.next - performance.now()));
    if (this.timer) clearTimeout(this.timer); // a packet ran the slice before the timer fired
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
    this.timer = undefined;
    if (!this.immediatePending) this.timerWakeups++;
    this.requestRun();
  }

  private runDue() {
    this.immediatePending = false;
    if (!this.active) return; // stopped meanwhile
    this.wakeups++;
    const now = performance.now();
    const late = now - this.next;
    if (late > this.sliceMs) this.lateTicks++;
    if (late > this.maxLateMs) this.maxLateMs = late;
    const wall = Date.now();
    // run every slice whose time has come (after a stall, each runs once: the timeline itself
    // emits all frames due by `wall`, so nothing is lost by not repeating)
    let runs = 0;
    while (this.next <= now && runs < this.phases) {
      this.runSlice(this.phase, wall, this.next);
      this.phase = (this.phase + 1) % this.phases;
      this.next += this.sliceMs;
      runs++;
    }
    while (this.next <= now) {
      this.next += this.sliceMs;
      this.phase = (this.phase + 1) % this.phases;
    }
    if (this.count > 0) this.schedule();
    else this.stop();
  }

  private runSlice(i: number, wall: number, due: number) {
    for (const fn of this.slices[i]!) {
      try {
        fn(wall, due);
      } catch {
        // one session's bug must not stop everyone's clock; sessions log their own errors
      }
    }
  }

  stop() {
    this.active = false;
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
