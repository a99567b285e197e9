// Session records in the registry, kept in step with the peer: the signaling creates the record
// (state "new") before calling the node; the node moves its state and, at teardown, replaces it
// by a tombstone saying why it ended (Registry.endSession), so GET and DELETE still answer.
// Updates are optimistic (version check) and retried on conflict; a registry outage is logged,
// never fatal to the media.
//
// The node is the truth about its live sessions: the last record seen of each is kept, and a
// live session whose record is gone (a Redis restarted empty, a DynamoDB table restored) is
// written again from it (touch), so GET and DELETE work again for a call whose audio never
// stopped. Only sessions the table still holds are re-asserted; a torn-down one is removed.
// But a record replaced by a tombstone was ended on purpose while this node did not answer (frozen,
// cut off): the signaling reported it lost, or its client DELETEd it and was answered 200. That
// is not written back: the node is told (`onEndedElsewhere`) and ends the call too.
// An end the registry does not take (it is down or frozen) is retried every END_RETRY_MS until it
// does, or until the record has expired by itself (no one touches it any more): otherwise the
// record of a call long over said "connected" for the rest of its TTL, and GET found no tombstone.
// A node about to exit tries them once more for a bounded time (flushEnds): the retry timer dies
// with the process, and a drain during a registry outage lost every end it made.
import type { Logger } from "../../log/index.js";
import { ConflictError, NotFoundError } from "../../registry/errors.js";
import type { Registry, SessionRecord, SessionState, SessionTombstone } from "../../registry/types.js";

const MAX_ATTEMPTS = 5;
/** RTCGW_TOMBSTONE_TTL's default (600 s) */
export const DEFAULT_TOMBSTONE_TTL_MS = 600_000;
/** how often ends the registry refused are tried again */
export const END_RETRY_MS = 2_000;

export class SessionRecordSync {
  /** per-session chain: our own updates never race each other */
  private readonly chains = new Map<string, Promise<void>>();
  /** the last record seen of each live session: what a lost record is written again from */
  private readonly known = new Map<string, SessionRecord>();
  /** ends the registry did not take, tried again until `until` (the record's own expiry) */
  private readonly unwritten = new Map<string, { reason: string; log: Logger; until: number }>();
  private retryTimer: NodeJS.Timeout | undefined;
  /** flushEnds is running: it does the retrying, the timer does not */
  private flushing = false;

  constructor(
    private readonly registry: Registry,
    private readonly ttlMs: number,
    private readonly tombstoneTtlMs = DEFAULT_TOMBSTONE_TTL_MS,
    /** a live session's record was found ended (a tombstone) by someone else */
    private readonly onEndedElsewhere: (id: string, tombstone: SessionTombstone) => void = () => {},
  ) {}

  setState(id: string, state: SessionState, log: Logger, extra: { etag?: string } = {}): Promise<void> {
    return this.chain(id, () => this.update(id, state, log, extra));
  }

  /**
   * extend the record's life (heartbeat): a dead node's sessions expire on their own. A live
   * session whose record the store lost is written again (`state`: the peer's state now).
   */
  touch(id: string, log: Logger, state?: SessionState): Promise<void> {
    return this.chain(id, async () => {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        try {
          const cur = await this.registry.getSession(id);
          if (!cur) {
            await this.reassert(id, log, state);
            return;
          }
          this.known.set(id, await this.registry.updateSession(id, cur.version, { ttlMs: this.ttlMs }));
          return;
        } catch (e) {
          if (e instanceof ConflictError && attempt < MAX_ATTEMPTS) continue;
          if (!(e instanceof NotFoundError))
            log.debug({ err: (e as Error).message }, "registry: touch failed");
          return;
        }
      }
    });
  }

  /** the record is gone but the call is live: write it again from the last one seen — unless it
   *  was ended meanwhile (a tombstone): then the call ends here too */
  private async reassert(id: string, log: Logger, state: SessionState | undefined): Promise<void> {
    const last = this.known.get(id);
    if (!last) return; // never had one (created outside the signaling)
    const ended = await this.registry.getTombstone(id);
    if (ended) {
      log.warn(
        { endReason: ended.reason, endedAt: ended.endedAt },
        "registry: the session was ended while this node did not answer; ending the call here too",
      );
      this.onEndedElsewhere(id, ended);
      return;
    }
    const { version: _v, createdAt: _c, expiresAt: _e, ...fields } = last;
    this.known.set(
      id,
      await this.registry.createSession({ ...fields, ...(state ? { state } : {}), ttlMs: this.ttlMs }),
    );
    log.warn({ state: state ?? last.state }, "registry: the session record was lost; written again");
  }

  /** the session ended here: its record becomes a tombstone with the reason (a client DELETE is "deleted") */
  end(id: string, reason: string, log: Logger): Promise<void> {
    this.known.delete(id);
    return this.chain(id, async () => {
      try {
        await this.writeEnd(id, reason);
      } catch (e) {
        log.warn(
          { err: (e as Error).message, retryMs: END_RETRY_MS },
          "registry: could not end the session record; trying again until it is taken",
        );
        // the record lives at most ttlMs past its last touch, which was before now
        this.unwritten.set(id, { reason, log, until: Date.now() + this.ttlMs });
        this.scheduleRetry();
      }
    }).finally(() => this.chains.delete(id));
  }

  private writeEnd(id: string, reason: string) {
    return this.registry.endSession(id, {
      reason: reason === "client" ? "deleted" : reason,
      ttlMs: this.tombstoneTtlMs,
    });
  }

  /** ends the registry has not taken yet */
  get unwrittenEnds(): number {
    return this.unwritten.size;
  }

  /**
   * The node is about to exit: the ends in flight finish, and those the registry did not take are
   * tried again every END_RETRY_MS until it takes them or `ms` has passed. Returns the sessions
   * still not ended in the registry (their records say "connected" until their TTL, and GET then
   * says node-lost): the caller logs them.
   */
  async flushEnds(ms: number): Promise<string[]> {
    const deadline = Date.now() + ms;
    this.flushing = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    try {
      // a write in flight on a frozen store waits out the store's own timeout: not past `ms`
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([...this.chains.values()]),
        new Promise((r) => {
          timer = setTimeout(r, ms);
        }),
      ]);
      clearTimeout(timer);
      while (this.unwritten.size > 0 && Date.now() < deadline) {
        await this.retryEnds();
        const left = deadline - Date.now();
        if (this.unwritten.size === 0 || left <= 0) break;
        await new Promise((r) => setTimeout(r, Math.min(END_RETRY_MS, left)));
      }
      return [...this.unwritten.keys()];
    } finally {
      this.flushing = false;
    }
  }

  private scheduleRetry() {
    if (this.flushing || this.retryTimer || this.unwritten.size === 0) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.retryEnds().finally(() => this.scheduleRetry());
    }, END_RETRY_MS);
    this.retryTimer.unref();
  }

  /** one more try of every end the registry did not take (one at a time: it may still be down) */
  private async retryEnds(): Promise<void> {
    for (const [id, u] of [...this.unwritten]) {
      if (Date.now() > u.until) {
        this.unwritten.delete(id); // expired by itself: nothing left to end
        continue;
      }
      try {
        await this.writeEnd(id, u.reason);
        this.unwritten.delete(id);
        u.log.info("registry: the session record ended after all");
      } catch {
        return; // still down: the rest wait for the next round
      }
    }
  }

  private chain(id: string, fn: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(id) ?? Promise.resolve()).then(fn, fn);
    this.chains.set(id, next);
    return next;
  }

  private async update(id: string, state: SessionState, log: Logger, extra: { etag?: string }) {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      try {
        const cur = await this.registry.getSession(id);
        if (!cur) {
          log.debug({ state }, "registry: no session record to update (created outside the signaling)");
          return;
        }
        this.known.set(id, cur);
        if (cur.state === state && !extra.etag) return;
        this.known.set(
          id,
          await this.registry.updateSession(id, cur.version, { state, ttlMs: this.ttlMs, ...extra }),
        );
        return;
      } catch (e) {
        if (e instanceof ConflictError && attempt < MAX_ATTEMPTS) continue;
        if (e instanceof NotFoundError) return;
        log.warn({ err: (e as Error).message, state }, "registry: could not update the session state");
        return;
      }
    }
  }
}
