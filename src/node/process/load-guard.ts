// Admission by measured load: a node near saturation refuses new sessions (503 node-busy) rather
// than taking one more and letting the calls it holds lose audio. Measured here: past saturation
// node-datachannel's callback queue backs up and every session on the node stops receiving (all
// reaped by the media timeout), and well before that an echo skips frames that come out of a
// stalled loop more than 100 ms late (STALE_FRAME_MS) — audio the caller never hears. So the line
// must be drawn before either.
//
// Four signals, each over a window (default 2 s, sampled every 500 ms):
// - the event loop's utilisation (mean): answering a burst of 20 offers saturates the loop for a
//   few hundred ms, and refusing the next offers for that would turn a passing setup cost into
//   lost sessions; sustained media load is what collapses a node, and a 2 s mean sees it.
// - the process's CPU, all threads (mean, as a share of the cores it may count on): with the node
//   pinned to one core (issue 18's bench: `taskset -c 1`) the core was full while the loop still
//   read ~70 % busy — libdatachannel's threads (UDP receive, SRTP, ICE/DTLS) filled the rest.
// - the load not yet measured (issue 18): a session admitted and still connecting, or whose media
//   started less than `settleMs` ago (the window plus a second), is not in either mean yet. A
//   burst of offers arrives faster than the window sees it: with 2 workers and echo at 300 offers,
//   the guard read its 2 s-old mean, kept admitting, and refused only after 220 calls were in —
//   which then lost 6.5 % of their echo. So each mean is projected: measured + unmeasured
//   sessions × the cost per measured session (the measured load ÷ the sessions it covers, fixed
//   cost included: an over-estimate, on the safe side), or `sessionCostPrior` while too few
//   sessions are measured. Settling counts from the media's start, not the admission: under load
//   ICE and DTLS take seconds, and a call counted from its offer could count as measured before
//   its media had run. A session that ended (or waits for a resume) leaves the count at once:
//   counted for its whole `settleMs`, a stream of calls that connect and hang up had more
//   "unmeasured" sessions than the node held, none to take a cost from, and each was charged
//   the prior. (bench:churn's refusals are another matter: its dozens of sessions are live and
//   all younger than `settleMs`, charged the prior on purpose — docs/benchmarks.md.)
// - the media clock's lag (`lag`: the shared ticker's latest wake-up after its slice was due, the
//   worst of the window): a core shared with other work shows neither in this process's CPU nor
//   in a loop that is busy only part of the time, but its frames come out late; a ticker that
//   runs `busyLagMs` late is one whose echo is about to skip frames. This refuses for one window
//   after a stall: the next sessions' set-up would add stalls of its own. The ticker measures
//   what the calls feel, at no cost (no timer of the guard's own; with no session there is no
//   lag to lose audio to). Without a `lag` source the guard samples the loop's delay itself (a
//   monitorEventLoopDelay histogram, the worst interval p99 beyond its 10 ms resolution).

import { availableParallelism } from "node:os";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { DEFAULT_BUSY_AT } from "../../config/index.js";

/** what one session costs before any is measured (share of the counted cores): an echo on the
 *  project's 2-core VM measured 0.6–1.2 % of a core; the prior errs high */
export const DEFAULT_SESSION_COST_PRIOR = 0.015;
/** sessions measured before their mean cost replaces the prior */
const MIN_MEASURED_SESSIONS = 4;
/** a session still connecting after this long is left to the node's connect timeout (which ends
 *  it) rather than counted on: a bound on the guard's own bookkeeping */
const MAX_CONNECTING_MS = 30_000;

/** an admitted session as the guard follows it until its load is in the means */
export interface AdmittedSession {
  /** its media has started (the peer connected) */
  started(): boolean;
  /** it ended (closed, refused, reaped) or is waiting for a resume: no media of its own runs */
  ended(): boolean;
}

interface Admission {
  at: number;
  /** when the guard first saw its media started */
  startedAt: number | undefined;
  session: AdmittedSession | undefined;
}
const LAG_RESOLUTION_MS = 10;

export interface LoadGuardOptions {
  /** mean utilisation (0..1) at which the node counts as busy (default 0.85) */
  busyAt?: number;
  /** the loop's lag (ms) at which the node counts as busy (default: never) */
  busyLagMs?: number;
  /** the lag (ms) since the last call (the node: its ticker's takeMaxLateMs); default: the
   *  guard's own loop-delay histogram, when a lag line is drawn */
  lag?: () => number;
  intervalMs?: number;
  /** the mean is over this long (default 2000 ms) */
  windowMs?: number;
  /**
   * the cores this process's CPU is measured against (default: the cores it may run on,
   * os.availableParallelism(), which follows taskset): busy at `busyAt` × this
   */
  cpuCores?: number;
  /** the sessions this node holds now (for the cost per measured session); default: none known */
  sessions?: () => number;
  /** a session whose media started this long ago is counted in the measured means (default window + 1 s) */
  settleMs?: number;
  /** one session's cost (share of the counted cores) while fewer than 4 are measured */
  sessionCostPrior?: number;
  /** clock for the admissions' ages (tests) */
  now?: () => number;
}

export class LoadGuard {
  readonly busyAt: number;
  readonly busyLagMs: number;
  readonly cpuCores: number;
  private last = performance.eventLoopUtilization();
  private lastCpu = process.cpuUsage();
  private lastAt = performance.now();
  private readonly samples: number[] = [];
  private readonly cpuSamples: number[] = [];
  private readonly lagSamples: number[] = [];
  private readonly size: number;
  private readonly timer: NodeJS.Timeout;
  private readonly loop = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  private readonly sessionsNow: () => number;
  private readonly lagSource: (() => number) | undefined;
  private readonly settleMs: number;
  private readonly prior: number;
  private readonly now: () => number;
  /** recent admissions (oldest first), until each is settled or ended */
  private admissions: Admission[] = [];
  /** event-loop utilisation (0..1), mean over the window */
  utilization = 0;
  /** the process's CPU (all threads) as a share (0..1) of `cpuCores`, mean over the window */
  cpu = 0;
  /** the loop's lag (ms beyond the sampling resolution): the worst interval p99 of the window */
  lagMs = 0;
  /** why the last `busy` read was true (for the 503's message and the logs) */
  reason: "loop" | "cpu" | "lag" | undefined;

  constructor(o: LoadGuardOptions = {}) {
    this.busyAt = o.busyAt ?? DEFAULT_BUSY_AT;
    this.busyLagMs = o.busyLagMs ?? Number.POSITIVE_INFINITY;
    this.cpuCores = o.cpuCores ?? availableParallelism();
    this.sessionsNow = o.sessions ?? (() => 0);
    this.prior = o.sessionCostPrior ?? DEFAULT_SESSION_COST_PRIOR;
    this.now = o.now ?? (() => performance.now());
    const intervalMs = o.intervalMs ?? 500;
    const windowMs = o.windowMs ?? 2000;
    this.settleMs = o.settleMs ?? windowMs + 1000;
    this.size = Math.max(1, Math.round(windowMs / intervalMs));
    this.lagSource = o.lag;
    // the lag histogram is a libuv timer of its own: only when a lag line is drawn and nothing
    // else measures the lag
    if (Number.isFinite(this.busyLagMs) && !this.lagSource) this.loop.enable();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample() {
    const now = performance.eventLoopUtilization();
    const at = performance.now();
    const cpu = process.cpuUsage(this.lastCpu);
    const cpuShare = (cpu.user + cpu.system) / 1000 / (at - this.lastAt) / this.cpuCores;
    let lag = 0;
    if (this.lagSource) lag = this.lagSource();
    else if (this.loop.count > 0) {
      // the histogram records whole intervals between its wake-ups (an idle loop reads ~10 ms)
      lag = Math.max(0, this.loop.percentile(99) / 1e6 - LAG_RESOLUTION_MS);
      this.loop.reset();
    }
    this.observe(performance.eventLoopUtilization(now, this.last).utilization, cpuShare, lag);
    this.settle(); // media starts are stamped within an interval, not only when an offer comes
    this.last = now;
    this.lastCpu = process.cpuUsage();
    this.lastAt = at;
  }

  /** one interval's loop utilisation, CPU share and loop lag (the timer's sample; tests feed their own) */
  observe(utilization: number, cpuShare = 0, lagMs = 0): void {
    this.samples.push(utilization);
    this.cpuSamples.push(cpuShare);
    this.lagSamples.push(lagMs);
    if (this.samples.length > this.size) {
      this.samples.shift();
      this.cpuSamples.shift();
      this.lagSamples.shift();
    }
    // over the whole window, also while it is filling: a node that just started was idle before,
    // and its first sample alone — often the first burst of offers being answered — is no mean
    this.utilization = this.samples.reduce((a, b) => a + b, 0) / this.size;
    this.cpu = this.cpuSamples.reduce((a, b) => a + b, 0) / this.size;
    this.lagMs = Math.max(...this.lagSamples);
  }

  /**
   * a session was admitted: its load counts as unmeasured while it connects and for `settleMs`
   * after its media started, unless it ends first. Without `session` (tests) its media counts as
   * started at admission.
   */
  admitted(session?: AdmittedSession): void {
    const at = this.now();
    this.admissions.push({ at, startedAt: session ? undefined : at, session });
  }

  /** sessions admitted and not yet in the means: still connecting, or started within `settleMs` */
  get unmeasured(): number {
    this.settle();
    return this.admissions.length;
  }

  /** stamps media starts and drops the admissions that settled or ended */
  private settle(): void {
    if (this.admissions.length === 0) return;
    const now = this.now();
    this.admissions = this.admissions.filter((a) => {
      if (a.session?.ended()) return false;
      if (a.startedAt === undefined && a.session?.started()) a.startedAt = now;
      return a.startedAt === undefined ? now - a.at < MAX_CONNECTING_MS : now - a.startedAt < this.settleMs;
    });
  }

  /** a measured mean plus the sessions it does not cover yet, each at the measured cost per session */
  private project(measured: number, unmeasured: number): number {
    if (unmeasured === 0) return measured;
    return measured + unmeasured * this.perSession(measured, unmeasured);
  }

  /** the cost charged per unmeasured session: the measured load ÷ the sessions it covers */
  private perSession(measured: number, unmeasured: number): number {
    const covered = Math.max(0, this.sessionsNow() - unmeasured);
    // too few measured sessions say nothing of one session's cost (the measured load is then the
    // node's fixed cost and the set-up of the very sessions not yet measured): the prior
    return covered >= MIN_MEASURED_SESSIONS ? measured / covered : this.prior;
  }

  /** the loop's utilisation with the unmeasured sessions projected in */
  get projectedUtilization(): number {
    return this.project(this.utilization, this.unmeasured);
  }

  /** the process's CPU share with the unmeasured sessions projected in */
  get projectedCpu(): number {
    return this.project(this.cpu, this.unmeasured);
  }

  get busy(): boolean {
    this.reason =
      this.lagMs >= this.busyLagMs
        ? "lag"
        : this.projectedCpu >= this.busyAt
          ? "cpu"
          : this.projectedUtilization >= this.busyAt
            ? "loop"
            : undefined;
    return this.reason !== undefined;
  }

  /** what the last `busy` read saw, in figures (the 503's message and the logs say why) */
  describe(): string {
    const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
    const projected = (name: string, measured: number) => {
      const u = this.unmeasured;
      const of = `of ${this.cpuCores} core${this.cpuCores === 1 ? "" : "s"}`;
      if (u === 0) return `${name} ${pct(measured)} ${of}, line ${pct(this.busyAt)}`;
      const each = this.perSession(measured, u);
      const connecting = this.admissions.filter((a) => a.startedAt === undefined).length;
      return `${name} ${pct(measured)} ${of} measured + ${u} session(s) not yet measured (${connecting} connecting) at ${pct(each)} each = ${pct(measured + u * each)}, line ${pct(this.busyAt)}`;
    };
    if (this.reason === "lag")
      return `its media clock ran ${Math.round(this.lagMs)} ms late, line ${this.busyLagMs} ms`;
    if (this.reason === "loop") return projected("event loop", this.utilization);
    return projected("CPU", this.cpu);
  }

  stop() {
    clearInterval(this.timer);
    this.loop.disable();
  }
}
