// A shared periodic tick source on a (virtual) clock, as the node's ticker is one on the real
// clock (src/node/process/ticker.ts): every subscriber is called once per period, at
// `phaseMs + k·period` after the source's creation, on a drift-free grid (a late wake-up —
// VirtualClock.lateness — makes that call late, not the later ones). For tests of what a pacer
// does when it is driven by the ticker instead of a timer of its own.
import type { Clock, TickSource } from "../../src/media/clock.js";

export class ClockTicks implements TickSource {
  readonly #subs = new Set<(wallMs: number, dueMs?: number) => void>();
  readonly #t0: number;
  #k = 1;
  /** calls made (one per period while anyone is subscribed) */
  calls = 0;

  constructor(
    private readonly clock: Clock,
    private readonly periodMs = 20,
    phaseMs = 0,
    /** pass each call's due time, as the node's ticker does (false: a source that knows none) */
    private readonly giveDue = true,
  ) {
    this.#t0 = clock.now() + phaseMs;
    this.#arm();
  }

  subscribe(fn: (wallMs: number, dueMs?: number) => void): () => void {
    this.#subs.add(fn);
    return () => this.#subs.delete(fn);
  }

  get size(): number {
    return this.#subs.size;
  }

  #arm(): void {
    this.clock.setTimeout(() => this.#fire(), this.#t0 + this.#k * this.periodMs - this.clock.now());
  }

  #fire(): void {
    const due = this.#t0 + this.#k * this.periodMs; // the slot this call was armed for
    // after a stall, one call (as the node's ticker runs each slice once), then back on the grid
    while (this.#t0 + this.#k * this.periodMs <= this.clock.now()) this.#k++;
    this.calls++;
    for (const fn of this.#subs) fn(this.clock.now(), this.giveDue ? due : undefined);
    this.#arm();
  }
}
