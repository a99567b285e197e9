// Which synchronisation source is current (RFC 3550 §8.2: a sender restart picks a new SSRC).

export type SsrcVerdict = "first" | "same" | "changed" | "stale";

export class SsrcTracker {
  private current: number | undefined;
  private readonly retired = new Set<number>();

  /** classify `ssrc`; a new SSRC becomes current ("changed"), a previous one is "stale" */
  observe(ssrc: number): SsrcVerdict {
    if (this.current === undefined) {
      this.current = ssrc;
      return "first";
    }
    if (ssrc === this.current) return "same";
    // late packets from a source we already left: don't flip back and forth
    if (this.retired.has(ssrc)) return "stale";
    this.retired.add(this.current);
    if (this.retired.size > 16) this.retired.delete(this.retired.values().next().value as number);
    this.current = ssrc;
    return "changed";
  }

  get ssrc(): number | undefined {
    return this.current;
  }
}
