// Admission by measured load: a node whose event loop is already saturated refuses new sessions
// (503 node-busy) rather than taking one more and letting every session on it collapse. Measured
// here: past saturation node-datachannel's callback queue backs up and every session on the
// node stops receiving (all reaped by the media timeout), so the line must be drawn before that.
import { performance } from "node:perf_hooks";

export const DEFAULT_BUSY_UTILIZATION = 0.85;

export class LoadGuard {
  private last = performance.eventLoopUtilization();
  /** event-loop utilisation (0..1) over the last sampling interval, smoothed */
  utilization = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly busyAt = DEFAULT_BUSY_UTILIZATION,
    intervalMs = 500,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample() {
    const now = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(now, this.last);
    this.last = now;
    // fast attack, slow release: one saturated interval is enough to stop admitting
    this.utilization = Math.max(delta.utilization, this.utilization * 0.5 + delta.utilization * 0.5);
  }

  get busy(): boolean {
    return this.utilization >= this.busyAt;
  }

  stop() {
    clearInterval(this.timer);
  }
}
