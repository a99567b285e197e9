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

export class JumpDetector<P> {
  private run: RunPacket<P>[] = [];

  /**
   * Add an unusable packet. Returns the packets that prove a jump (the caller re-anchors on
   * them and replays them), otherwise undefined. Packets that leave the run without proving one
   * are returned via `dropped` so the caller can count them. `jitterMs`: how far the network's
   * packets scatter (the receiver's depth); the band they must agree within is that wide.
   */
  add(entry: RunPacket<P>, jitterMs = 0): { jump?: RunPacket<P>[]; dropped: number } {
    const half = Math.min(Math.max(MAX_SPREAD_MS, jitterMs), MAX_BAND_MS) / 2;
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
