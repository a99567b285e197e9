// Admission by measured load: a node whose event loop is saturated refuses new sessions
// (503 node-busy) rather than taking one more and letting every session on it collapse. Measured
// here: past saturation node-datachannel's callback queue backs up and every session on the
// node stops receiving (all reaped by the media timeout), so the line must be drawn before that.
//
// The line is the event loop's utilisation averaged over a window (default 2 s), not one sample:
// answering a burst of 20 offers saturates the loop for a few hundred ms, and refusing the next
// offers for that would turn a passing setup cost into lost sessions. Sustained media load is
// what collapses a node, and a 2 s mean sees it within 2 s.
import { performance } from "node:perf_hooks";

export const DEFAULT_BUSY_UTILIZATION = 0.85;

export interface LoadGuardOptions {
  /** mean utilisation (0..1) at which the node counts as busy (default 0.85) */
  busyAt?: number;
  intervalMs?: number;
  /** the mean is over this long (default 2000 ms) */
  windowMs?: number;
}

export class LoadGuard {
  readonly busyAt: number;
  private last = performance.eventLoopUtilization();
  private readonly samples: number[] = [];
  private readonly size: number;
  private readonly timer: NodeJS.Timeout;
  /** event-loop utilisation (0..1), mean over the window */
  utilization = 0;

  constructor(o: LoadGuardOptions = {}) {
    this.busyAt = o.busyAt ?? DEFAULT_BUSY_UTILIZATION;
    const intervalMs = o.intervalMs ?? 500;
    this.size = Math.max(1, Math.round((o.windowMs ?? 2000) / intervalMs));
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample() {
    const now = performance.eventLoopUtilization();
    this.observe(performance.eventLoopUtilization(now, this.last).utilization);
    this.last = now;
  }

  /** one interval's utilisation (the timer's sample; tests feed their own) */
  observe(utilization: number): void {
    this.samples.push(utilization);
    if (this.samples.length > this.size) this.samples.shift();
    this.utilization = this.samples.reduce((a, b) => a + b, 0) / this.samples.length;
  }

  get busy(): boolean {
    return this.utilization >= this.busyAt;
  }

  stop() {
    clearInterval(this.timer);
  }
}
