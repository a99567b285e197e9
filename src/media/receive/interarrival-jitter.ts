// RFC 3550 §6.4.1 interarrival jitter: J += (|D(i-1,i)| − J) / 16, where D is the change in
// relative transit time (arrival − RTP timestamp) between consecutive packets. Kept in ms.

export class InterarrivalJitter {
  private lastTransit: number | undefined;
  private j = 0;

  constructor(private readonly clockRate: number) {}

  /** feed one packet (arrival in ms, unwrapped RTP timestamp) */
  update(arrivalMs: number, timestamp: number): void {
    const transit = arrivalMs - (timestamp * 1000) / this.clockRate;
    if (this.lastTransit !== undefined) {
      const d = Math.abs(transit - this.lastTransit);
      this.j += (d - this.j) / 16;
    }
    this.lastTransit = transit;
  }

  /** the current estimate in ms */
  get ms(): number {
    return this.j;
  }

  /** forget the previous transit (timestamp domain changed) but keep the estimate */
  rebase(): void {
    this.lastTransit = undefined;
  }
}
