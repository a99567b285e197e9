// The node's registry entry: registered on start, heartbeated every 5 s with a 15 s TTL and the
// current load, marked draining on SIGTERM, removed on exit. A node that dies simply stops
// heartbeating and expires. Registry outages are logged and retried on the next beat.
import type { Logger } from "../log/index.js";
import { NotFoundError } from "../registry/errors.js";
import type { NodeRecord, Registry } from "../registry/types.js";

export const HEARTBEAT_MS = 5_000;
export const NODE_TTL_MS = 15_000;
/** session records live this long past the last heartbeat that touched them */
export const SESSION_TTL_MS = 60_000;
/** session records are refreshed every Nth heartbeat (not every beat: that is N writes per session) */
const TOUCH_SESSIONS_EVERY = 4;
/** a failed beat is tried again this soon (and at most a fifth of the interval) */
const RETRY_MS = 1_000;

export interface HeartbeatOptions {
  registry: Registry;
  node: Omit<NodeRecord, "expiresAt" | "load">;
  load: () => number;
  touchSessions: () => Promise<void>;
  log: Logger;
  intervalMs?: number;
  ttlMs?: number;
  /** why the node cannot record now (undefined: it can), sent with every registration and beat */
  recordUnavailable?: () => string | undefined;
}

export class NodeHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private draining = false;
  private beats = 0;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly o: HeartbeatOptions) {}

  async start(): Promise<void> {
    await this.register();
    this.timer = setInterval(() => this.track(this.beat()), this.o.intervalMs ?? HEARTBEAT_MS);
    this.timer.unref();
  }

  private get ttl() {
    return this.o.ttlMs ?? NODE_TTL_MS;
  }

  private async register() {
    // one missed heartbeat (none for 1.5 intervals) takes the node out of the pick at once; its
    // record lives the full TTL, so its sessions are not taken for orphans over a slow beat
    const staleMarginMs = Math.max(0, this.ttl - Math.round(1.5 * (this.o.intervalMs ?? HEARTBEAT_MS)));
    const recordUnavailable = this.o.recordUnavailable?.();
    await this.o.registry.registerNode(
      {
        ...this.o.node,
        load: this.o.load(),
        staleMarginMs,
        ...(this.draining ? { draining: true } : {}),
        ...(recordUnavailable ? { recordUnavailable } : {}),
      },
      this.ttl,
    );
  }

  /** one heartbeat now (also used to publish draining at once) */
  async beat(): Promise<void> {
    const taken = await this.send();
    if (++this.beats % TOUCH_SESSIONS_EVERY === 0) await this.o.touchSessions();
    if (!taken) this.retrySoon();
  }

  /** the heartbeat (or, if the record is gone, the registration): true once the registry took it */
  private async send(): Promise<boolean> {
    try {
      await this.o.registry.heartbeatNode(this.o.node.id, {
        load: this.o.load(),
        ttlMs: this.ttl,
        ...(this.draining ? { draining: true } : {}),
        // stated in every beat (null: it can), so a record that missed a change is right again
        ...(this.o.recordUnavailable ? { recordUnavailable: this.o.recordUnavailable() ?? null } : {}),
      });
      return true;
    } catch (e) {
      if (e instanceof NotFoundError) {
        // expired while we were busy, or the store lost it (Redis restarted empty): register
        // again, and write our live sessions' records again at once rather than at the next
        // touch — their calls are live and their clients must be able to GET and DELETE them
        this.o.log.warn("registry: node record expired; registering again");
        const registered = await this.register().then(
          () => true,
          (err) => {
            this.o.log.warn({ err: (err as Error).message }, "registry: re-register failed");
            return false;
          },
        );
        if (registered) await this.o.touchSessions();
        return registered;
      }
      this.o.log.warn({ err: (e as Error).message }, "registry: heartbeat failed");
      return false;
    }
  }

  /** one more try soon, not at the next interval; again after each failure, until one is taken */
  private retrySoon() {
    if (this.retry || !this.timer) return; // one pending at a time; none once stopped
    const delay = Math.min(RETRY_MS, (this.o.intervalMs ?? HEARTBEAT_MS) / 5);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.track(
        this.send().then((taken) => {
          if (!taken) this.retrySoon();
        }),
      );
    }, delay);
    this.retry.unref();
  }

  /** what stop() waits for: every beat and retry still in flight */
  private track(p: Promise<void>) {
    const before = this.inFlight;
    this.inFlight = Promise.allSettled([before, p]).then(() => {});
  }

  async setDraining(): Promise<void> {
    this.draining = true;
    await this.beat();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    clearTimeout(this.retry);
    this.retry = undefined;
    await this.inFlight.catch(() => {});
    try {
      await this.o.registry.removeNode(this.o.node.id);
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, "registry: could not remove the node record");
    }
  }
}
