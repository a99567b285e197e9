// Extend wrapping RTP counters to monotonic numbers (RFC 3550 Appendix A.1 style): each new
// value is placed at the unwrapped position closest to the previous one, so 65535 → 0 reads as
// +1 and a reordered 65534 after 1 reads as −3, not +65533.

class Unwrapper {
  private last: number | undefined;

  constructor(
    private readonly modulus: number,
    /** how far back a value may be and still be a reordered packet rather than a restart */
    private readonly maxMisorder: number,
  ) {}

  /** the unwrapped value of `raw` (0 ≤ raw < modulus); the first call returns raw itself */
  unwrap(raw: number): number {
    if (this.last === undefined) {
      this.last = raw;
      return raw;
    }
    const half = this.modulus / 2;
    const lastRaw = ((this.last % this.modulus) + this.modulus) % this.modulus;
    let delta = raw - lastRaw;
    if (delta > half) delta -= this.modulus;
    else if (delta <= -half) delta += this.modulus;
    const value = this.last + delta;
    // a late (reordered) packet must not drag the reference back; a big backward step is a
    // sender restart and becomes the new reference (RFC 3550 A.1 MAX_MISORDER idea)
    if (delta > 0 || delta < -this.maxMisorder) this.last = value;
    return value;
  }

  reset(): void {
    this.last = undefined;
  }
}

/** 16-bit RTP sequence numbers → monotonic integers */
export class SequenceUnwrapper extends Unwrapper {
  constructor() {
    super(0x10000, 100); // RFC 3550 A.1 MAX_MISORDER
  }
}

/** 32-bit RTP timestamps → monotonic integers (safe up to 2^53: years at 48 kHz) */
export class TimestampUnwrapper extends Unwrapper {
  constructor() {
    super(0x100000000, 0x400000); // ~87 s at 48 kHz: no real reordering is older than that
  }
}
