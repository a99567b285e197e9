// The packet store between arrival and playout: ordered by (unwrapped) RTP timestamp, so
// reordering is absorbed; remembers recent sequence numbers, so duplicates are dropped.
// Timing (depth, lateness) lives in PlayoutDelay and the receiver: this is only the store.

export interface BufferedPacket {
  /** unwrapped sequence number */
  seq: number;
  /** unwrapped RTP timestamp */
  ts: number;
  /** duration in samples per channel at the clock rate */
  samples: number;
  payload: Uint8Array;
  arrivalMs: number;
}

export type InsertResult = "inserted" | "duplicate";

const SEQ_MEMORY = 1024; // sequence numbers remembered for duplicate detection (~20 s at 50 pps)

export class JitterBuffer {
  private readonly packets: BufferedPacket[] = [];
  private readonly seen = new Set<number>();
  private highestSeen = Number.NEGATIVE_INFINITY;

  get size(): number {
    return this.packets.length;
  }

  /** insert in timestamp order; a sequence number seen before (buffered or played) is a duplicate */
  insert(p: BufferedPacket): InsertResult {
    if (this.seen.has(p.seq)) return "duplicate";
    this.remember(p.seq);
    // most packets arrive in order: search from the end
    let i = this.packets.length;
    while (i > 0 && this.packets[i - 1].ts > p.ts) i--;
    if (i > 0 && this.packets[i - 1].ts === p.ts) return "duplicate"; // same media, other seq (RTX-like)
    this.packets.splice(i, 0, p);
    return "inserted";
  }

  /** true when this sequence number was already accepted */
  has(seq: number): boolean {
    return this.seen.has(seq);
  }

  /** the packet with the smallest timestamp */
  peek(): BufferedPacket | undefined {
    return this.packets[0];
  }

  shift(): BufferedPacket | undefined {
    return this.packets.shift();
  }

  /** the buffered packet starting exactly at `ts`, if any */
  at(ts: number): BufferedPacket | undefined {
    for (const p of this.packets) {
      if (p.ts === ts) return p;
      if (p.ts > ts) return undefined;
    }
    return undefined;
  }

  /** drop packets that end at or before `ts` (too late to play); returns how many */
  dropEndingBy(ts: number): number {
    let n = 0;
    while (this.packets.length > 0 && this.packets[0].ts + this.packets[0].samples <= ts) {
      this.packets.shift();
      n++;
    }
    return n;
  }

  /** forget packets and history (new SSRC or new timestamp domain) */
  clear(forgetHistory: boolean): void {
    this.packets.length = 0;
    if (forgetHistory) {
      this.seen.clear();
      this.highestSeen = Number.NEGATIVE_INFINITY;
    }
  }

  private remember(seq: number): void {
    this.seen.add(seq);
    if (seq > this.highestSeen) this.highestSeen = seq;
    if (this.seen.size > SEQ_MEMORY * 2) {
      const floor = this.highestSeen - SEQ_MEMORY;
      for (const s of this.seen) if (s < floor) this.seen.delete(s);
    }
  }
}
