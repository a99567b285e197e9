// Resume (docs/signaling.md, "Resume"): a session is more than its peer. When a client's network
// changes its ICE path dies, and libdatachannel cannot restart ICE; the client re-offers to its
// own session instead and gets a new peer under the same session:
//
//   - the new PeerSession continues the old one (`continues`): our SSRC, the outlet every sender
//     holds, the counters, the WHEP listeners' feed, the session's times; the media assembly
//     (receive timeline, recording, echo, bridge socket) is attached to it unchanged;
//   - the old peer keeps carrying the session until the new one is connected; then the outlet
//     moves (the echo and the bridge send on the new peer from the next packet: no queue, so no
//     burst) and the old peer's transport is closed — only its transport (retire()).
//   - the receive timeline needs nothing: the new peer's RTP comes with a new SSRC and random
//     sequence/timestamp bases, which the receiver takes as a new source anchored at its first
//     packet's arrival (docs/timeline.md) — the gap between is filled at its true position.
//
// A session whose peer disconnects, fails, closes or goes silent is *interrupted*: it waits up to
// RTCGW_RESUME_WINDOW for a resume, then ends ("resume-timeout"). A silent peer that sends RTP
// again within the window is simply connected again (recoverFromSilence): no resume needed.
//
// A resume posted while the session's peer is still connected (a client that took a network
// change for a loss, or whose new path never works) does not interrupt the session: the old peer
// carries it (carriedBy) and is judged as any session's peer is — its loss or silence interrupts
// the session, and the pending resume then gets the window. A new peer that does not connect
// within RTCGW_CONNECT_TIMEOUT of its answer is dropped (abandonResume) and the call goes on, on
// its old peer, as before the resume.
import type { Logger } from "../../log/index.js";
import type { NodeMetrics } from "../metrics.js";
import { OfferError } from "./errors.js";
import type { ValidatedOffer } from "./offer.js";
import type { PeerSession } from "./peer-session.js";

export interface ResumeTimes {
  /** RTCGW_RESUME_WINDOW in ms (0: sessions are not kept) */
  windowMs: number;
  connectMs: number;
  /** RTCGW_MEDIA_TIMEOUT in ms: how long a live peer may go without RTP (see resumeDeadline) */
  mediaMs?: number;
}

/**
 * The resume offer must fit the media assembly the session was built with: the same codec and
 * payload type (the receiver decodes one payload type, the echo and the bridge encode it) and
 * the same directions. Anything else is a new session's offer (422 says which).
 */
export function checkResumeOffer(offer: ValidatedOffer, session: PeerSession): void {
  const had = session.offer.codec;
  const got = offer.codec;
  if (got.name !== had.name || got.payloadType !== had.payloadType)
    throw OfferError.unsupported(
      `a resume must offer the session's codec as its first choice: ${had.name} with payload type ${had.payloadType} (the offer's is ${got.name}/${got.payloadType})`,
    );
  if (offer.answerDirection !== session.offer.answerDirection)
    throw OfferError.unsupported(
      `a resume must keep the session's audio direction (${session.offer.offerDirection}); the offer's is ${offer.offerDirection}`,
    );
}

/** A resumed peer that has not connected yet: a newer resume replaces it outright. */
export const isPendingResume = (s: PeerSession) => s.resumes > 0 && s.peerConnectedAt === undefined;

/**
 * The old peer that still carries a session whose resume is pending and which is not
 * interrupted: the session's state is that peer's until the new one connects (or is abandoned).
 * (A session whose resume was posted without a live peer is interrupted from the start: handOver.)
 */
export const carriedBy = (s: PeerSession): PeerSession | undefined =>
  s.interruptedAt === undefined ? s.predecessor : undefined;

/** a peer that carries its session now: connected, not closing, not interrupted */
const live = (p: PeerSession) => p.state === "connected" && !p.isClosing && p.interruptedAt === undefined;

/** Mark the session interrupted (once): it waits for a resume until resumeDeadline(). */
export function interrupt(s: PeerSession, cause: string, metrics: NodeMetrics, windowMs: number): boolean {
  if (s.interruptedAt !== undefined) {
    // a silent peer whose stack then says it is gone (closed, failed) is no longer only silent:
    // its RTP cannot bring it back, nor its RTCP keep it (the window counts from the silence)
    if (s.interruptedBy === "silent" && (cause === "closed" || cause === "failed")) {
      s.interruptedBy = cause;
      s.log.info({ cause }, "the silent peer is gone");
    }
    return false;
  }
  s.interruptedAt = Date.now();
  s.interruptedBy = cause;
  metrics.interruptions.inc({ cause });
  s.log.info({ cause, windowS: windowMs / 1000 }, "session interrupted: waiting for a resume");
  return true;
}

/** what a session's own peer can come back from by sending again (no resume needed): its silence */
const RECOVERABLE = new Set(["silent", "media-timeout"]);

/**
 * RTP from the peer that carries an interrupted session: a session interrupted because its peer
 * went silent is connected again (true). Nothing else changes — the media (recording, echo,
 * bridge, listeners) never stopped; the receive timeline fills the pause at its true position.
 */
export function recoverFromSilence(s: PeerSession, metrics: NodeMetrics): boolean {
  const cause = s.interruptedBy;
  // a resume in flight (predecessor) finishes as a resume; the peer must be the connected one
  if (s.interruptedAt === undefined || !cause || !RECOVERABLE.has(cause) || s.predecessor) return false;
  if (s.state !== "connected" || s.isClosing) return false;
  const interruptedMs = Date.now() - s.interruptedAt;
  s.interruptedAt = undefined;
  s.interruptedBy = undefined;
  metrics.recoveries.inc({ cause });
  s.log.info({ cause, interruptedMs }, "the session's peer is sending again: no longer interrupted");
  return true;
}

/** When an interrupted session ends unless a peer connects: the window, or a pending resume's
 *  connect timeout when that is later (a resume posted at the window's edge still gets to connect). */
export function resumeDeadline(s: PeerSession, t: ResumeTimes): number {
  const window = (s.interruptedAt ?? Date.now()) + t.windowMs;
  // (a resume still being answered counts from now: the window must not end it mid-answer)
  const pending = isPendingResume(s) ? (s.answeredAt ?? Date.now()) + t.connectMs : 0;
  // (the old peer of a pending resume went silent after it was posted: its RTCP counts as its own)
  const old = s.predecessor ? aliveWithoutRtp(s.predecessor, t) : 0;
  return Math.max(window, pending, aliveWithoutRtp(s, t), old);
}

/**
 * A "silent" peer that still sends RTCP after its session was interrupted has not left: it only
 * sends no audio (a browser's sender without a track — on hold — sends an RTCP report every few
 * seconds). The interruption says so at once, but such a peer is ended no sooner than the media
 * timeout always ended a peer without RTP: its window counts from RTCGW_MEDIA_TIMEOUT after its
 * last RTP. (A peer that closed sends nothing more: its window counts from the interruption.)
 */
function aliveWithoutRtp(s: PeerSession, t: ResumeTimes): number {
  if (s.interruptedBy !== "silent" || t.mediaMs === undefined || s.interruptedAt === undefined) return 0;
  if ((s.lastRtcpAt ?? 0) <= s.interruptedAt) return 0;
  const lastRtp = s.lastRtpAt ?? s.peerConnectedAt ?? s.connectedAt ?? s.interruptedAt;
  return lastRtp + t.mediaMs + t.windowMs;
}

/**
 * The new peer connected (or the interrupted one came back by itself): the session's outgoing
 * audio moves to it, the peer it replaces is closed, the interruption ends.
 */
export function completeResume(s: PeerSession, metrics: NodeMetrics): Promise<void> | undefined {
  const was = s.interruptedAt;
  s.interruptedAt = undefined;
  s.interruptedBy = undefined;
  if (s.outlet) s.outlet.peer = s;
  const old = s.predecessor;
  s.predecessor = undefined;
  // the old peer may have carried packets after the resume was posted (its path was not dead)
  if (old?.lastRtpAt !== undefined) s.lastRtpBefore = Math.max(s.lastRtpBefore ?? 0, old.lastRtpAt);
  if (s.resumes > 0 && old) metrics.resumes.inc({ outcome: "resumed" });
  s.log.info(
    { resumes: s.resumes, interruptedMs: was !== undefined ? Date.now() - was : undefined },
    old ? "session resumed on a new peer" : "session's peer is back",
  );
  // a peer that sends nothing (WHEP) has no first packet to measure the gap by: say it now
  if (old && !s.receives) announceGap(s, Date.now());
  if (!old) return undefined;
  old.retire();
  return old.close("resumed");
}

/** The resumed peer's first packet: the gap is known; the media (bridge application) is told. */
export function onResumedFirstRtp(s: PeerSession, log: Logger): void {
  if (s.resumes === 0 || s.firstRtpAt === undefined) return;
  announceGap(s, s.firstRtpAt, log);
}

function announceGap(s: PeerSession, at: number, log: Logger = s.log): void {
  const last = Math.max(s.lastRtpBefore ?? 0, s.predecessor?.lastRtpAt ?? 0);
  const gapMs = last > 0 ? Math.max(0, Math.round(at - last)) : 0;
  log.info({ gapMs }, "audio resumed");
  try {
    s.media?.resumed(gapMs);
  } catch (e) {
    log.warn({ err: (e as Error).message }, "could not tell the media of the resume");
  }
}

/**
 * Replace `current` by `next` (already built with `continues: current`): `next` gets the media
 * and the peer that carries the session until `next` connects. A pending resume that `next`
 * replaces is returned, to be closed once `next` has answered.
 */
export function handOver(
  current: PeerSession,
  next: PeerSession,
  metrics: NodeMetrics,
): PeerSession | undefined {
  const media = current.media;
  if (media) next.attachMedia(media);
  let replaced: PeerSession | undefined;
  if (isPendingResume(current)) {
    next.predecessor = current.predecessor;
    current.predecessor = undefined;
    metrics.resumes.inc({ outcome: "superseded" });
    replaced = current;
  } else next.predecessor = current;
  // The session was interrupted already (next took it over), or its peer still carries it: then
  // it stays connected on that peer (carriedBy). Else — a peer that never connected, or one that
  // is disconnected without a window — it waits for this resume as an interrupted session.
  if (next.interruptedAt === undefined && !(next.predecessor && live(next.predecessor))) {
    next.interruptedAt = Date.now();
    next.interruptedBy = "resume";
  }
  return replaced;
}

/** A resume whose answer failed: `current` carries the session again. */
export function undoHandOver(next: PeerSession, replaced: PeerSession | undefined): void {
  if (replaced) replaced.predecessor = next.predecessor;
  next.predecessor = undefined;
  next.retire();
}

/**
 * A resume over a live peer whose new peer did not connect within the connect timeout: dropped
 * (as a resume whose answer failed, undoHandOver). Returns the peer that carries the session
 * again; the caller puts it back in the table and closes `next`.
 */
export function abandonResume(next: PeerSession, metrics: NodeMetrics): PeerSession {
  const old = next.predecessor;
  if (!old) throw new Error("abandonResume: no peer carries the session");
  next.predecessor = undefined;
  next.retire();
  metrics.resumes.inc({ outcome: "abandoned" });
  return old;
}

/**
 * The old peer that carries a session with a pending resume (carriedBy) was lost or went silent:
 * the session is interrupted with it — whatever the window, the pending resume then has until
 * resumeDeadline() (at least its connect timeout) to connect. The old peer is marked too, so that
 * its own RTP (a silence that ends) reaches recoverFromSilence. True when newly interrupted.
 */
export function interruptCarrier(
  s: PeerSession,
  old: PeerSession,
  cause: string,
  metrics: NodeMetrics,
  windowMs: number,
): boolean {
  interrupt(old, cause, metrics, windowMs);
  const first = s.interruptedAt === undefined;
  s.interruptedAt ??= old.interruptedAt;
  s.interruptedBy = old.interruptedBy;
  return first;
}

/**
 * The old peer of a pending resume carries the session again (its RTP after a silence —
 * recoverFromSilence(old) —, or connected again): the session is no longer interrupted; the
 * resume is pending over a live peer again (carriedBy), and abandoned if it does not connect.
 */
export function carrierBack(s: PeerSession, old: PeerSession): void {
  old.interruptedAt = undefined;
  old.interruptedBy = undefined;
  s.interruptedAt = undefined;
  s.interruptedBy = undefined;
  s.connectedAt ??= old.connectedAt;
}
