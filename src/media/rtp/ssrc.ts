// Which synchronisation source is current (RFC 3550 §8.2: a sender restart picks a new SSRC).

export type SsrcVerdict = "first" | "same" | "changed" | "stale";

/** a source we left is followed back once it has sent this many packets in a row… */
const RETURN_PACKETS = 3;
/** …while the current source has sent nothing for this long */
const RETURN_SILENCE_MS = 100;

export class SsrcTracker {
  private current: number | undefined;
  private currentLastMs = Number.NEGATIVE_INFINITY;
  private readonly retired = new Set<number>();
  /** a source we left that is sending again, and its packets since the current one's last */
  private returning: { ssrc: number; packets: number } | undefined;

  /**
   * Classify `ssrc`, arriving at `arrivalMs`: a new SSRC becomes current ("changed"); one we
   * left is "stale" — its late packets must not flip the receiver back and forth — until it is
   * plainly the one sending: RETURN_PACKETS in a row while the current source has been silent
   * for RETURN_SILENCE_MS. The order packets arrive in is not the order they were sent: when a
   * new source's first packet overtakes the old source's last, the old one looks new and the
   * real one stale, and without the way back every packet of the call after it was dropped.
   */
  observe(ssrc: number, arrivalMs: number): SsrcVerdict {
    if (this.current === undefined) {
      this.follow(ssrc, arrivalMs);
      return "first";
    }
    if (ssrc === this.current) {
      this.currentLastMs = arrivalMs;
      this.returning = undefined;
      return "same";
    }
    if (this.retired.has(ssrc)) {
      if (this.returning?.ssrc !== ssrc) this.returning = { ssrc, packets: 0 };
      if (++this.returning.packets < RETURN_PACKETS || arrivalMs - this.currentLastMs < RETURN_SILENCE_MS)
        return "stale";
      this.retired.delete(ssrc);
    }
    this.retired.add(this.current);
    if (this.retired.size > 16) this.retired.delete(this.retired.values().next().value as number);
    this.follow(ssrc, arrivalMs);
    return "changed";
  }

  get ssrc(): number | undefined {
    return this.current;
  }

  private follow(ssrc: number, arrivalMs: number): void {
    this.current = ssrc;
    this.currentLastMs = arrivalMs;
    this.returning = undefined;
  }
}
