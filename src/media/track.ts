// Tracks: where AudioFrames come from and how consumers get them.
//
// Push, not pull. aiortc's MediaStreamTrack is pulled (`await track.recv()`): a track nobody pulls
// stalls (docs/design.md rule 2: an unconsumed incoming track backs up), a pulled source must produce on demand,
// and a relay must keep pulling forever to serve its subscribers (the never-stopping relay of the
// field report). Here the clock or the network drives: a source emits each frame when it exists,
// consumers are called synchronously and must not block (slow work goes behind a Relay's bounded
// queue), and a source only runs while someone is subscribed: the first subscriber starts it, the
// last unsubscribe stops it (a tone source clears its timer). See docs/pipeline.md.

import { TypedEmitter, type Unsubscribe } from "./events.js";
import type { AudioFrame } from "./frame.js";

export type { Unsubscribe } from "./events.js";

export type TrackState = "idle" | "live" | "ended";

export interface TrackEvents {
  /** one frame on the track's contiguous timeline */
  frame: AudioFrame;
  /** the source began producing (first subscriber) */
  start: undefined;
  /** the source stopped producing (last subscriber left, or it ended) */
  stop: undefined;
  /** no more frames will ever come */
  ended: { reason: string };
}

/** What a consumer of frames implements (sinks, encoders, bridges). */
export interface FrameConsumer {
  onFrame(frame: AudioFrame): void | Promise<void>;
  /** the source ended; flush and release */
  onEnd?(reason: string): void;
}

/** A producer of AudioFrames at a fixed rate/channel layout. */
export interface AudioSource {
  readonly kind: "audio";
  readonly rate: number;
  readonly channels: 1 | 2;
  readonly state: TrackState;
  /** receive every frame from now on; the first subscription starts the source */
  subscribe(consumer: FrameConsumer): Unsubscribe;
  readonly events: TypedEmitter<TrackEvents>;
}

/**
 * The base of every source: subscriber bookkeeping and the start/stop-on-demand rule. Subclasses
 * implement `produce()` / `halt()` and call `emitFrame()`.
 */
export abstract class SourceTrack implements AudioSource {
  readonly kind = "audio" as const;
  readonly events = new TypedEmitter<TrackEvents>();
  #consumers = new Set<FrameConsumer>();
  /** the consumers as an array, rebuilt after a change: a frame's fan-out iterates a snapshot
   *  (a consumer added or removed meanwhile takes effect from the next frame) without copying
   *  the set 50 times a second (issue 18: a per-frame allocation) */
  #snapshot: FrameConsumer[] | undefined;
  #state: TrackState = "idle";
  /** frames emitted so far */
  framesEmitted = 0;
  /** consumer callbacks that threw (the source goes on; the consumer is reported) */
  consumerErrors = 0;

  constructor(
    readonly rate: number,
    readonly channels: 1 | 2,
  ) {}

  get state(): TrackState {
    return this.#state;
  }

  get subscriberCount(): number {
    return this.#consumers.size;
  }

  subscribe(consumer: FrameConsumer): Unsubscribe {
    if (this.#state === "ended") {
      consumer.onEnd?.("ended");
      return () => {};
    }
    this.#consumers.add(consumer);
    this.#snapshot = undefined;
    if (this.#state === "idle") {
      this.#state = "live";
      this.produce();
      this.events.emit("start", undefined);
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#consumers.delete(consumer);
      this.#snapshot = undefined;
      if (this.#consumers.size === 0 && this.#state === "live") {
        this.#state = "idle";
        this.halt();
        this.events.emit("stop", undefined);
      }
    };
  }

  /** hand a frame to every consumer; a throwing consumer never stops the others or the source */
  protected emitFrame(frame: AudioFrame): void {
    if (this.#state !== "live") return;
    this.framesEmitted++;
    this.#snapshot ??= [...this.#consumers];
    for (const c of this.#snapshot) {
      try {
        const r = c.onFrame(frame);
        if (r && typeof (r as Promise<void>).catch === "function")
          (r as Promise<void>).catch(() => this.consumerErrors++);
      } catch {
        this.consumerErrors++;
      }
    }
    this.events.emit("frame", frame);
  }

  /** no more frames: consumers get onEnd, the source halts for good */
  end(reason = "ended"): void {
    if (this.#state === "ended") return;
    const wasLive = this.#state === "live";
    this.#state = "ended";
    if (wasLive) {
      this.halt();
      this.events.emit("stop", undefined);
    }
    const consumers = [...this.#consumers];
    this.#consumers.clear();
    this.#snapshot = undefined;
    for (const c of consumers) {
      try {
        c.onEnd?.(reason);
      } catch {
        this.consumerErrors++;
      }
    }
    this.events.emit("ended", { reason });
  }

  /** begin producing (start timers, open inputs) */
  protected abstract produce(): void;
  /** stop producing and release what produce() took */
  protected abstract halt(): void;
}

/**
 * A source fed from outside (the receive timeline, a test): `push()` emits at once when someone
 * listens; with nobody subscribed the frame is dropped and counted, never queued (push model).
 */
export class PushedTrack extends SourceTrack {
  /** frames pushed while nobody was subscribed */
  unconsumed = 0;
  push(frame: AudioFrame): void {
    if (this.state !== "live") {
      this.unconsumed++;
      return;
    }
    this.emitFrame(frame);
  }
  protected produce(): void {}
  protected halt(): void {}
}
