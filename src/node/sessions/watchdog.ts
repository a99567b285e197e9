// The watchdog (docs/design.md rule 3): one timer for every session of the node reaps the ones
// that would otherwise be ghosts — never connected, disconnected too long, or connected but
// silent (no RTP) too long. It decides; the session table tears down.
import type { TeardownReason } from "../metrics.js";
import type { PeerSession } from "./peer-session.js";

export interface Timeouts {
  connectMs: number;
  disconnectMs: number;
  mediaMs: number;
}

export type WatchdogReason = Extract<
  TeardownReason,
  "connect-timeout" | "disconnect-timeout" | "media-timeout"
>;

/** why `s` should be torn down at `now`, or undefined while it is healthy */
export function overdue(s: PeerSession, t: Timeouts, now: number): WatchdogReason | undefined {
  if (s.isClosing) return undefined;
  if (s.connectedAt === undefined)
    return now - (s.answeredAt ?? s.createdAt) > t.connectMs ? "connect-timeout" : undefined;
  if (s.state === "disconnected" && s.disconnectedAt !== undefined)
    return now - s.disconnectedAt > t.disconnectMs ? "disconnect-timeout" : undefined;
  if (s.state === "connected" && s.receives && now - (s.lastRtpAt ?? s.connectedAt) > t.mediaMs)
    return "media-timeout";
  return undefined;
}

export class Watchdog {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly timeouts: Timeouts,
    sessions: () => Iterable<PeerSession>,
    reap: (s: PeerSession, reason: WatchdogReason) => void,
  ) {
    const t = timeouts;
    const shortest = Math.min(t.connectMs, t.disconnectMs, t.mediaMs);
    // one timer for all sessions; checks often enough to reap within ~10 % of the shortest timeout
    this.timer = setInterval(
      () => {
        const now = Date.now();
        for (const s of sessions()) {
          const reason = overdue(s, this.timeouts, now);
          if (reason) reap(s, reason);
        }
      },
      Math.max(50, Math.min(500, shortest / 10)),
    );
    this.timer.unref();
  }

  stop() {
    clearInterval(this.timer);
  }
}
