// The watchdog (docs/design.md rule 3): one timer for every session of the node reaps the ones
// that would otherwise be ghosts — never connected, disconnected too long, or connected but
// silent (no RTP) too long — and interrupted sessions nobody resumed within the window
// (resume.ts). It decides; the session table tears down (or, for a silent or disconnected peer
// whose session can be resumed, interrupts).
import type { TeardownReason } from "../metrics.js";
import type { PeerSession } from "./peer-session.js";
import { resumeDeadline } from "./resume.js";

export interface Timeouts {
  connectMs: number;
  disconnectMs: number;
  mediaMs: number;
  /** RTCGW_RESUME_WINDOW: an interrupted session waits this long for a resume (0: none waits) */
  resumeWindowMs?: number;
}

export type WatchdogReason = Extract<
  TeardownReason,
  "connect-timeout" | "disconnect-timeout" | "media-timeout" | "resume-timeout"
>;

/** why `s` should be torn down (or interrupted) at `now`, or undefined while it is healthy */
export function overdue(s: PeerSession, t: Timeouts, now: number): WatchdogReason | undefined {
  if (s.isClosing) return undefined;
  if (s.interruptedAt !== undefined)
    return now > resumeDeadline(s, { windowMs: t.resumeWindowMs ?? 0, connectMs: t.connectMs })
      ? "resume-timeout"
      : undefined;
  if (s.connectedAt === undefined)
    return now - (s.answeredAt ?? s.createdAt) > t.connectMs ? "connect-timeout" : undefined;
  if (s.state === "disconnected" && s.disconnectedAt !== undefined)
    return now - s.disconnectedAt > t.disconnectMs ? "disconnect-timeout" : undefined;
  // a resumed peer's silence counts from its own connection, not the session's first
  if (
    s.state === "connected" &&
    s.receives &&
    now - (s.lastRtpAt ?? s.peerConnectedAt ?? s.connectedAt) > t.mediaMs
  )
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
    const shortest = Math.min(
      t.connectMs,
      t.disconnectMs,
      t.mediaMs,
      t.resumeWindowMs || Number.POSITIVE_INFINITY,
    );
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
