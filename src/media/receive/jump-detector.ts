// Decides when the sender's timestamps have left our timeline for good (sender restart, a jump
// of 2^31 or ~4e9 ticks, a lasting latency step) so the timeline must be re-anchored to the wall
// clock — instead of waiting hours for the new timestamps, or dropping every packet as late.
//
// A packet is "unusable" when it is too late to play or absurdly early. One such packet, or a
// late burst flushed by a router after an outage, must not move the timeline: a burst's
// lateness shrinks by ~20 ms per packet as it drains. A jump looks different: packets keep a
// constant offset from the timeline while wall time passes. So re-anchor only when a run of
// unusable packets agrees on its offset (spread ≤ 60 ms) over ≥ 100 ms of arrivals.

export interface RunPacket<P> {
  packet: P;
  arrivalMs: number;
  /** arrival minus nominal arrival on the current timeline, ms */
  offsetMs: number;
}

const MAX_SPREAD_MS = 60;
const MIN_SPAN_MS = 100;
const MIN_PACKETS = 3;
const MAX_RUN = 64; // a flood of unusable packets at one instant must not grow memory

export class JumpDetector<P> {
  private run: RunPacket<P>[] = [];

  /**
   * Add an unusable packet. Returns the run when it proves a jump (the caller re-anchors on it
   * and replays the packets), otherwise undefined. Packets of a broken run are returned via
   * `dropped` so the caller can count them.
   */
  add(entry: RunPacket<P>): { jump?: RunPacket<P>[]; dropped: number } {
    let dropped = 0;
    if (this.run.length > 0) {
      let lo = entry.offsetMs;
      let hi = entry.offsetMs;
      for (const r of this.run) {
        if (r.offsetMs < lo) lo = r.offsetMs;
        if (r.offsetMs > hi) hi = r.offsetMs;
      }
      if (hi - lo > MAX_SPREAD_MS) {
        // a draining burst, not a jump: start over from this packet
        dropped = this.run.length;
        this.run = [];
      }
    }
    this.run.push(entry);
    if (this.run.length > MAX_RUN) {
      this.run.shift();
      dropped++;
    }
    const span = entry.arrivalMs - this.run[0].arrivalMs;
    if (this.run.length >= MIN_PACKETS && span >= MIN_SPAN_MS) {
      const jump = this.run;
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
