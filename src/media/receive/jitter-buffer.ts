// The packet store between arrival and playout: ordered by position on the output timeline
// (the RTP timestamp mapped through the current anchor), so reordering is absorbed and packets
// buffered before a re-anchor or SSRC change keep their place; remembers recent sequence
// numbers, so duplicates are dropped. Timing (depth, lateness) lives in PlayoutDelay and the
// receiver: this is only the store.

export interface BufferedPacket {
  /** unwrapped sequence number */
  seq: number;
  /** unwrapped RTP timestamp */
  ts: number;
  /** position on the output timeline, in samples (set when the packet is placed) */
  pos: number;
  /** which sender incarnation (bumped on SSRC change and re-anchor): seq logic holds within one */
  epoch: number;
  /** duration in samples per channel at the clock rate */
  samples: number;
  payload: Uint8Array;
  arrivalMs: number;
}

/** "occupied": another packet (another sequence number) already covers part of its place — a
 *  sender that repeats or steps back its timestamp, a re-anchored run landing on what the
 *  previous timeline still holds */
export type InsertResult = "inserted" | "duplicate" | "occupied" | "overflow";

/** more than any sane depth holds (200 ms = 10–80 packets): a flood from a bad client */
export const MAX_BUFFERED = 512;

// sequence numbers remembered for duplicate detection (~20 s at 50 pps): a ring indexed by the
// sequence number's low bits, holding the number itself — two array reads per packet where a
// Set hashed, grew and was pruned (V8's FindOrderedHashSetEntry was ~1 µs of a record
// session's 94 µs frame, issue 18). A packet more than SEQ_MEMORY behind the newest is ~20 s
// late: the receiver drops it as too late whatever this says.
const SEQ_MEMORY = 1024;
const SEQ_MASK = SEQ_MEMORY - 1;

export class JitterBuffer {
  private readonly packets: BufferedPacket[] = [];
  /** seen[seq & SEQ_MASK] === seq when seq was accepted (NaN: empty, equal to no number) */
  private readonly seen = new Float64Array(SEQ_MEMORY).fill(Number.NaN);

  get size(): number {
    return this.packets.length;
  }

  /** insert in timestamp order; a sequence number seen before (buffered or played) is a duplicate */
  insert(p: BufferedPacket): InsertResult {
    if (this.seen[p.seq & SEQ_MASK] === p.seq) return "duplicate";
    this.seen[p.seq & SEQ_MASK] = p.seq;
    // most packets arrive in order: search from the end
    let i = this.packets.length;
    while (i > 0 && this.packets[i - 1].pos > p.pos) i--;
    // another packet already covers part of its place (same start, or a sender's timestamp
    // stepping back by less than a packet): the recording's WAV could hold only one of them,
    // its Ogg (whole packets) would take both and run long
    const prev = this.packets[i - 1];
    const next = this.packets[i];
    if ((prev && prev.pos + prev.samples > p.pos) || (next && p.pos + p.samples > next.pos))
      return "occupied";
    // full: keep the packets needed soonest, refuse the one furthest in the future
    if (this.packets.length >= MAX_BUFFERED && i === this.packets.length) return "overflow";
    this.packets.splice(i, 0, p);
    if (this.packets.length > MAX_BUFFERED) {
      this.packets.pop();
      return "overflow";
    }
    return "inserted";
  }

  /** true when this sequence number was already accepted */
  has(seq: number): boolean {
    return this.seen[seq & SEQ_MASK] === seq;
  }

  /** the packet earliest on the timeline */
  peek(): BufferedPacket | undefined {
    return this.packets[0];
  }

  /** the i-th packet in timeline order (0 = peek()) */
  at(i: number): BufferedPacket | undefined {
    return this.packets[i];
  }

  shift(): BufferedPacket | undefined {
    return this.packets.shift();
  }

  /** drop packets that end at or before timeline position `pos` (too late to play); returns how many */
  dropEndingBy(pos: number): number {
    let n = 0;
    while (this.packets.length > 0 && this.packets[0].pos + this.packets[0].samples <= pos) {
      this.packets.shift();
      n++;
    }
    return n;
  }

  /** whether a buffered packet covers part of `p`'s place */
  overlaps(p: BufferedPacket): boolean {
    for (const q of this.packets) if (q.pos < p.pos + p.samples && p.pos < q.pos + q.samples) return true;
    return false;
  }

  /** drop the packets of `epoch` that start before timeline position `pos`; returns how many */
  dropStartingBefore(pos: number, epoch: number): number {
    let kept = 0;
    for (const p of this.packets) if (p.epoch !== epoch || p.pos >= pos) this.packets[kept++] = p;
    const dropped = this.packets.length - kept;
    this.packets.length = kept;
    return dropped;
  }

  /** move every buffered packet — or only those of `epoch` — `delta` samples along the timeline
   *  (order is unchanged) */
  shiftPositions(delta: number, epoch?: number): void {
    for (const p of this.packets) if (epoch === undefined || p.epoch === epoch) p.pos += delta;
  }

  /** the earliest timeline position of a buffered packet of `epoch` (Infinity if it has none) */
  firstPosition(epoch: number): number {
    let first = Number.POSITIVE_INFINITY;
    for (const p of this.packets) if (p.epoch === epoch && p.pos < first) first = p.pos;
    return first;
  }

  /** forget sequence history; buffered packets stay */
  forgetSequences(): void {
    this.seen.fill(Number.NaN);
  }

  clear(): void {
    this.packets.length = 0;
    this.forgetSequences();
  }
}
