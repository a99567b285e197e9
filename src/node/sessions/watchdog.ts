// The watchdog (docs/design.md rule 3): one timer for every session of the node reaps the ones
// that would otherwise be ghosts — never connected, disconnected too long, or connected but
// silent (no RTP) too long — and interrupted sessions nobody resumed within the window
// (resume.ts). It decides; the session table tears down (or, for a silent or disconnected peer
// whose session can be resumed, interrupts). A session that can be resumed is also interrupted
// ("silent") after a short silence (no RTP nor RTCP): the only sign within seconds that an
// audio-only peer closed (its stack sends nothing; docs/node.md, "A peer that closes"). While a
// resume is pending over a live peer, that peer is the one judged, and the new peer only has the
// connect timeout: then the resume is abandoned, not the session ("resume-abandoned").
import type { TeardownReason } from "../metrics.js";
import type { PeerSession } from "./peer-session.js";
import { carriedBy, resumeDeadline } from "./resume.js";

export interface Timeouts {
  connectMs: number;
  disconnectMs: number;
  mediaMs: number;
  /** RTCGW_RESUME_WINDOW: an interrupted session waits this long for a resume (0: none waits) */
  resumeWindowMs?: number;
  /** RTCGW_SILENCE_INTERRUPT_S: a receiving peer that sent neither RTP nor RTCP this long
   *  interrupts its session (0 or absent: off; only with a resume window) */
  silenceMs?: number;
}

export type WatchdogReason = Extract<
  TeardownReason,
  "connect-timeout" | "disconnect-timeout" | "media-timeout" | "resume-timeout"
>;

/** what the watchdog found: a reason to tear down (or interrupt), "silent" (interrupt only), or
 *  "resume-abandoned" (a resume's new peer never connected: only it is dropped) */
export type WatchdogVerdict = WatchdogReason | "silent" | "resume-abandoned";

/** the silence threshold in force: only a session that can wait for a resume is interrupted by it */
export const silenceThresholdMs = (t: Timeouts): number =>
  (t.resumeWindowMs ?? 0) > 0 ? (t.silenceMs ?? 0) : 0;

/** why `s` should be torn down (or interrupted) at `now`, or undefined while it is healthy */
export function overdue(s: PeerSession, t: Timeouts, now: number): WatchdogVerdict | undefined {
  if (s.isClosing) return undefined;
  if (s.interruptedAt !== undefined)
    return now >
      resumeDeadline(s, { windowMs: t.resumeWindowMs ?? 0, connectMs: t.connectMs, mediaMs: t.mediaMs })
      ? "resume-timeout"
      : undefined;
  const old = carriedBy(s);
  if (old) {
    // the new peer had its connect timeout (counted from its answer: none while it is answered)
    if (s.answeredAt !== undefined && now - s.answeredAt > t.connectMs) return "resume-abandoned";
    // the old peer carries the call: its loss or silence is the session's (it is interrupted)
    return overdue(old, t, now);
  }
  if (s.connectedAt === undefined)
    return now - (s.answeredAt ?? s.createdAt) > t.connectMs ? "connect-timeout" : undefined;
  if (s.state === "disconnected" && s.disconnectedAt !== undefined)
    return now - s.disconnectedAt > t.disconnectMs ? "disconnect-timeout" : undefined;
  if (s.state !== "connected" || !s.receives) return undefined;
  // a resumed peer's silence counts from its own connection, not the session's first
  const lastRtp = s.lastRtpAt ?? s.peerConnectedAt ?? s.connectedAt;
  if (now - lastRtp > t.mediaMs) return "media-timeout";
  const silenceMs = silenceThresholdMs(t);
  if (silenceMs > 0 && now - Math.max(lastRtp, s.lastRtcpAt ?? 0) > silenceMs) return "silent";
  return undefined;
}

export class Watchdog {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly timeouts: Timeouts,
    sessions: () => Iterable<PeerSession>,
    reap: (s: PeerSession, verdict: WatchdogVerdict) => void,
  ) {
    const t = timeouts;
    const shortest = Math.min(
      t.connectMs,
      t.disconnectMs,
      t.mediaMs,
      t.resumeWindowMs || Number.POSITIVE_INFINITY,
      silenceThresholdMs(t) || Number.POSITIVE_INFINITY,
    );
    // one timer for all sessions; checks often enough to reap within ~10 % of the shortest timeout
    // (the 2 s silence: every 200 ms)
    const periodMs = Math.max(50, Math.min(500, shortest / 10));
    let lastSweep = Date.now();
    this.timer = setInterval(() => {
      const now = Date.now();
      // a sweep this late means this process itself stood still (frozen, starved, a long pause):
      // its peers' packets are waiting to be read, so none of them is taken for silent now — the
      // next sweep, after the backlog, judges (else every call would flap interrupted → back)
      const stalled = now - lastSweep > Math.max(1_000, 4 * periodMs);
      lastSweep = now;
      for (const s of sessions()) {
        const verdict = overdue(s, this.timeouts, now);
        if (verdict && !(verdict === "silent" && stalled)) reap(s, verdict);
      }
    }, periodMs);
    this.timer.unref();
  }

  stop() {
    clearInterval(this.timer);
  }
}
