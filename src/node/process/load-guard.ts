// Admission by measured load: a node whose event loop is saturated refuses new sessions
// (503 node-busy) rather than taking one more and letting every session on it collapse. Measured
// here: past saturation node-datachannel's callback queue backs up and every session on the
// node stops receiving (all reaped by the media timeout), so the line must be drawn before that.
//
// The line is the event loop's utilisation averaged over a window (default 2 s), not one sample:
// answering a burst of 20 offers saturates the loop for a few hundred ms, and refusing the next
// offers for that would turn a passing setup cost into lost sessions. Sustained media load is
// what collapses a node, and a 2 s mean sees it within 2 s.
//
// The event loop is not the only thing that saturates: libdatachannel's threads (UDP receive,
// SRTP, ICE/DTLS) run beside it on the same cores. With the node pinned to one core
// (issue 18's bench: `taskset -c 1`), the core was full while the loop still read ~70 % busy,
// and the guard let in sessions that then lost audio. So the process's CPU (all its threads,
// process.cpuUsage) over the same window is the second signal: busy when it reaches `busyAt` of
// the cores this process may count on (`cpuCores`: the cores it may run on ÷ the workers
// sharing them).
import { availableParallelism } from "node:os";
import { performance } from "node:perf_hooks";

export const DEFAULT_BUSY_UTILIZATION = 0.85;

export interface LoadGuardOptions {
  /** mean utilisation (0..1) at which the node counts as busy (default 0.85) */
  busyAt?: number;
  intervalMs?: number;
  /** the mean is over this long (default 2000 ms) */
  windowMs?: number;
  /**
   * the cores this process's CPU is measured against (default: the cores it may run on,
   * os.availableParallelism(), which follows taskset): busy at `busyAt` × this
   */
  cpuCores?: number;
}

export class LoadGuard {
  readonly busyAt: number;
  readonly cpuCores: number;
  private last = performance.eventLoopUtilization();
  private lastCpu = process.cpuUsage();
  private lastAt = performance.now();
  private readonly samples: number[] = [];
  private readonly cpuSamples: number[] = [];
  private readonly size: number;
  private readonly timer: NodeJS.Timeout;
  /** event-loop utilisation (0..1), mean over the window */
  utilization = 0;
  /** the process's CPU (all threads) as a share (0..1) of `cpuCores`, mean over the window */
  cpu = 0;

  constructor(o: LoadGuardOptions = {}) {
    this.busyAt = o.busyAt ?? DEFAULT_BUSY_UTILIZATION;
    this.cpuCores = o.cpuCores ?? availableParallelism();
    const intervalMs = o.intervalMs ?? 500;
    this.size = Math.max(1, Math.round((o.windowMs ?? 2000) / intervalMs));
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample() {
    const now = performance.eventLoopUtilization();
    const at = performance.now();
    const cpu = process.cpuUsage(this.lastCpu);
    const cpuShare = (cpu.user + cpu.system) / 1000 / (at - this.lastAt) / this.cpuCores;
    this.observe(performance.eventLoopUtilization(now, this.last).utilization, cpuShare);
    this.last = now;
    this.lastCpu = process.cpuUsage();
    this.lastAt = at;
  }

  /** one interval's loop utilisation and CPU share (the timer's sample; tests feed their own) */
  observe(utilization: number, cpuShare = 0): void {
    this.samples.push(utilization);
    this.cpuSamples.push(cpuShare);
    if (this.samples.length > this.size) {
      this.samples.shift();
      this.cpuSamples.shift();
    }
    this.utilization = this.samples.reduce((a, b) => a + b, 0) / this.samples.length;
    this.cpu = this.cpuSamples.reduce((a, b) => a + b, 0) / this.cpuSamples.length;
  }

  get busy(): boolean {
    return this.utilization >= this.busyAt || this.cpu >= this.busyAt;
  }

  stop() {
    clearInterval(this.timer);
  }
}
