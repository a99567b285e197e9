// Session records in the registry, kept in step with the peer: the signaling creates the record
// (state "new") before calling the node; the node moves its state and deletes it at teardown.
// Updates are optimistic (version check) and retried on conflict; a registry outage is logged,
// never fatal to the media.
import type { Logger } from "../../log/index.js";
import { ConflictError, NotFoundError } from "../../registry/errors.js";
import type { Registry, SessionState } from "../../registry/types.js";

const MAX_ATTEMPTS = 5;

export class SessionRecordSync {
  /** per-session chain: our own updates never race each other */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly registry: Registry,
    private readonly ttlMs: number,
  ) {}

  setState(id: string, state: SessionState, log: Logger, extra: { etag?: string } = {}): Promise<void> {
    return this.chain(id, () => this.update(id, state, log, extra));
  }

  /** extend the record's life (heartbeat): a dead node's sessions expire on their own */
  touch(id: string, log: Logger): Promise<void> {
    return this.chain(id, async () => {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        try {
          const cur = await this.registry.getSession(id);
          if (!cur) return;
          await this.registry.updateSession(id, cur.version, { ttlMs: this.ttlMs });
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

  remove(id: string, log: Logger): Promise<void> {
    return this.chain(id, async () => {
      try {
        await this.registry.deleteSession(id);
      } catch (e) {
        log.warn({ err: (e as Error).message }, "registry: could not delete the session record");
      }
    }).finally(() => this.chains.delete(id));
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
        if (cur.state === state && !extra.etag) return;
        await this.registry.updateSession(id, cur.version, { state, ttlMs: this.ttlMs, ...extra });
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
