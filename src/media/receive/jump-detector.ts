// Decides when the sender's timestamps have left our timeline for good (sender restart, a jump
// of 2^31 or ~4e9 ticks, a lasting latency step) so the timeline must be re-anchored to the wall
// clock — instead of waiting hours for the new timestamps, or dropping every packet as late.
//
// A packet is "unusable" when it is too late to play or absurdly early. One such packet, or a
// late burst flushed by a router after an outage, must not move the timeline: a burst's
// lateness shrinks by ~20 ms per packet as it drains. A jump looks different: packets keep a
// constant offset from the timeline while wall time passes. So re-anchor only when ≥ 3 unusable
// packets agree on their offset over ≥ 100 ms of arrivals: within ±30 ms of the newest one's,
// or within the jitter the network has shown (the caller passes its depth). Packets that do not
// agree stay in the run instead of breaking it: on a network whose packets scatter over 120 ms,
// a run that had to agree as a whole (spread ≤ 60 ms) was broken again and again, and a jump
// cost a second of audio — or the rest of a short call. The band is at most 120 ms wide: the
// depth also grows with the late packets of the run itself (up to 200 ms), and a band that wide
// would take a backlog draining at twice real time for a jump.

export interface RunPacket<P> {
  packet: P;
  arrivalMs: number;
  /** arrival minus nominal arrival on the current timeline, ms */
  offsetMs: number;
}

const MAX_SPREAD_MS = 60;
const MAX_BAND_MS = 120;
const MIN_SPAN_MS = 100;
const MIN_PACKETS = 3;
const MAX_RUN = 64; // a flood of unusable packets at one instant must not grow memory

/** half the band a run's packets must agree within: the network's jitter, 60–120 ms wide */
function halfBand(jitterMs: number): number {
  return Math.min(Math.max(MAX_SPREAD_MS, jitterMs), MAX_BAND_MS) / 2;
}

export class JumpDetector<P> {
  private run: RunPacket<P>[] = [];

  /**
   * Add an unusable packet. Returns the packets that prove a jump (the caller re-anchors on
   * them and replays them), otherwise undefined. Packets that leave the run without proving one
   * are returned via `dropped` so the caller can count them. `jitterMs`: how far the network's
   * packets scatter (the receiver's depth); the band they must agree within is that wide.
   */
  add(entry: RunPacket<P>, jitterMs = 0): { jump?: RunPacket<P>[]; dropped: number } {
    const half = halfBand(jitterMs);
    let dropped = 0;
    this.run.push(entry);
    if (this.run.length > MAX_RUN) {
      this.run.shift();
      dropped++;
    }
    let agree = 0;
    let firstAgreeing = entry.arrivalMs;
    for (const r of this.run) {
      if (Math.abs(r.offsetMs - entry.offsetMs) > half) continue;
      if (agree++ === 0) firstAgreeing = r.arrivalMs;
    }
    if (agree >= MIN_PACKETS && entry.arrivalMs - firstAgreeing >= MIN_SPAN_MS) {
      // the jump's packets: those within the band's width of the newest (its jitter), in order;
      // the rest (a burst that drained before it, stray packets) are dropped
      const jump = this.run.filter((r) => Math.abs(r.offsetMs - entry.offsetMs) <= 2 * half);
      dropped += this.run.length - jump.length;
      this.run = [];
      return { jump, dropped };
    }
    return { dropped };
  }

  /**
   * The call ended with a run still unproven: no later packet will prove or refute it. Its
   * packets are returned to be placed where they arrived, as a proven jump's are (the caller
   * plays those still ahead of its playhead), only if they look like a jump without the time to
   * prove it: at least MIN_PACKETS agree with the newest as add() asks, and they arrived as fast
   * as they were sent (their arrival span at least half their stamped span — a router's flush
   * arrives at once, its lateness shrinking 20 ms a packet). They are the caller's last audio: a
   * restart in the call's last 100 ms lost them all. Anything else — one or two packets off the
   * timeline, a flush — is more likely late than a restart, and placed at its arrival it would
   * make the call longer than it was: counted by the caller (`dropped`).
   */
  settle(jitterMs = 0): { jump?: RunPacket<P>[]; dropped: number } {
    const run = this.run;
    this.run = [];
    const newest = run.at(-1);
    if (newest === undefined) return { dropped: 0 };
    const half = halfBand(jitterMs);
    const agree = run.filter((r) => Math.abs(r.offsetMs - newest.offsetMs) <= half);
    const first = agree[0]!;
    const arrivalSpan = newest.arrivalMs - first.arrivalMs;
    const stampedSpan = newest.arrivalMs - newest.offsetMs - (first.arrivalMs - first.offsetMs);
    if (agree.length < MIN_PACKETS || arrivalSpan < stampedSpan / 2) return { dropped: run.length };
    // the jump's packets, as add() replays them: within the band's width of the newest
    const jump = run.filter((r) => Math.abs(r.offsetMs - newest.offsetMs) <= 2 * half);
    return { jump, dropped: run.length - jump.length };
  }

  /** a usable packet arrived: the timeline holds; returns how many run packets are discarded */
  reset(): number {
    const n = this.run.length;
    this.run = [];
    return n;
  }

  get pending(): number {
    return this.run.length;
  }
}
