// The relay: one source fanned out to many consumers (docs/design.md rule 7).
//
// - The relay subscribes to its source only while it has consumers: when the last consumer stops,
//   it unsubscribes and the source stops producing (the aiortc MediaRelay kept pulling forever).
// - Each consumer has its own bounded queue. A consumer that returns a pending promise is "busy";
//   frames for it queue up to `queueFrames`, then the oldest is dropped and counted. Other consumers
//   never wait for it.
import type { AudioFrame } from "./frame.js";
import type { AudioSource, FrameConsumer, Unsubscribe } from "./track.js";

export interface RelayConsumerOptions {
  /** frames a busy consumer may have waiting before the oldest is dropped (default 50 = 1 s) */
  queueFrames?: number;
  /** a name for stats and logs */
  name?: string;
}

export interface RelayConsumerStats {
  name: string;
  delivered: number;
  /** frames dropped because this consumer's queue was full (drop-oldest) */
  dropped: number;
  /** frames waiting now */
  queued: number;
  /** onFrame calls that threw or rejected */
  errors: number;
}

export interface RelaySubscription {
  readonly name: string;
  /** stop this consumer only; idempotent. The last stop unsubscribes the relay from its source. */
  stop(): void;
  readonly stopped: boolean;
  stats(): RelayConsumerStats;
}

class ConsumerSlot implements RelaySubscription {
  readonly #queue: AudioFrame[] = [];
  #busy = false;
  #stopped = false;
  #endReason: string | undefined;
  delivered = 0;
  dropped = 0;
  errors = 0;

  constructor(
    readonly name: string,
    private readonly consumer: FrameConsumer,
    private readonly capacity: number,
    private readonly onStop: (slot: ConsumerSlot) => void,
  ) {}

  get stopped(): boolean {
    return this.#stopped;
  }

  offer(frame: AudioFrame): void {
    if (this.#stopped) return;
    if (this.#busy) {
      this.#queue.push(frame);
      if (this.#queue.length > this.capacity) {
        this.#queue.shift();
        this.dropped++;
      }
      return;
    }
    this.#run(frame);
  }

  #run(frame: AudioFrame): void {
    this.delivered++;
    let result: void | Promise<void>;
    try {
      result = this.consumer.onFrame(frame);
    } catch {
      this.errors++;
      return;
    }
    if (result && typeof (result as Promise<void>).then === "function") {
      this.#busy = true;
      (result as Promise<void>).then(
        () => this.#settle(),
        () => {
          this.errors++;
          this.#settle();
        },
      );
    }
  }

  #settle(): void {
    this.#busy = false;
    while (!this.#busy && !this.#stopped && this.#queue.length > 0) this.#run(this.#queue.shift()!);
    if (!this.#busy && this.#endReason !== undefined) this.#finish();
  }

  /** the source ended: deliver what is queued, then onEnd */
  end(reason: string): void {
    this.#endReason = reason;
    if (!this.#busy) this.#finish();
  }

  #finish(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    try {
      this.consumer.onEnd?.(this.#endReason ?? "stopped");
    } catch {
      this.errors++;
    }
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#queue.length = 0;
    this.onStop(this);
  }

  stats(): RelayConsumerStats {
    return {
      name: this.name,
      delivered: this.delivered,
      dropped: this.dropped,
      queued: this.#queue.length,
      errors: this.errors,
    };
  }
}

export class Relay {
  readonly #slots = new Set<ConsumerSlot>();
  /** the slots as an array, rebuilt after a change (a frame fans out over a snapshot, no copy per frame) */
  #snapshot: ConsumerSlot[] | undefined;
  #unsubscribe: Unsubscribe | undefined;
  #seq = 0;
  /** frames received from the source */
  framesIn = 0;

  constructor(
    readonly source: AudioSource,
    private readonly defaults: RelayConsumerOptions = {},
  ) {}

  get consumerCount(): number {
    return this.#slots.size;
  }

  /** true while the relay is subscribed to its source */
  get attached(): boolean {
    return this.#unsubscribe !== undefined;
  }

  subscribe(consumer: FrameConsumer, opts: RelayConsumerOptions = {}): RelaySubscription {
    const capacity = Math.max(1, opts.queueFrames ?? this.defaults.queueFrames ?? 50);
    const slot = new ConsumerSlot(opts.name ?? `consumer-${++this.#seq}`, consumer, capacity, (s) =>
      this.#remove(s),
    );
    if (this.source.state === "ended") {
      slot.end("ended");
      return slot;
    }
    this.#slots.add(slot);
    this.#snapshot = undefined;
    // subscribe last: a source may emit synchronously on start
    this.#unsubscribe ??= this.source.subscribe({
      onFrame: (frame) => this.#fanOut(frame),
      onEnd: (reason) => this.#ended(reason),
    });
    return slot;
  }

  #fanOut(frame: AudioFrame): void {
    this.framesIn++;
    this.#snapshot ??= [...this.#slots];
    for (const slot of this.#snapshot) slot.offer(frame);
  }

  #ended(reason: string): void {
    this.#unsubscribe = undefined;
    const slots = [...this.#slots];
    this.#slots.clear();
    this.#snapshot = undefined;
    for (const s of slots) s.end(reason);
  }

  #remove(slot: ConsumerSlot): void {
    this.#slots.delete(slot);
    this.#snapshot = undefined;
    if (this.#slots.size === 0 && this.#unsubscribe) {
      const off = this.#unsubscribe;
      this.#unsubscribe = undefined;
      off();
    }
  }

  /** stop every consumer (and so detach from the source) */
  close(): void {
    for (const s of [...this.#slots]) s.stop();
  }

  stats(): RelayConsumerStats[] {
    return [...this.#slots].map((s) => s.stats());
  }
}
