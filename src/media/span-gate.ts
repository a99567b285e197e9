// The recorder's view of the timeline: the call's media runs from the first packet to the end of
// the last one. A gap in the middle is part of the call (silence or concealment at its true
// position), but a gap at the end is not: while it lasts nobody knows whether audio will follow.
// So filler frames (`frame.filler`: no packet contributed) are held here until a frame with
// audio comes, then passed on in order; at the end whatever is still held is dropped. Live
// consumers (echo, listeners, bridge) do not go through this: they need every frame on time.
//
// A frame whose audio ends before the frame does (`frame.fillerTail`: a 10 ms packet without its
// slot-mate) is held the same way, whole: released unchanged when audio follows, and at the end
// only its audio goes on — the recording ends where the last packet's audio ends, to the sample,
// not at the end of its 20 ms frame.
//
// Held filler costs no PCM: runs of all-zero frames (silence, DTX) are kept as a count, and only
// concealment frames (at most maxConcealMs per gap) and a frame with a filler tail keep their
// samples.
import type { AudioFrame } from "./frame.js";
import type { FrameConsumer } from "./track.js";

/** a held concealment frame, or a run of `zeros` silent frames starting at `pts` */
type Held = AudioFrame | { zeros: number; pts: number; rate: number; channels: 1 | 2; length: number };

function isSilent(s: Int16Array): boolean {
  for (let i = 0; i < s.length; i++) if (s[i] !== 0) return false;
  return true;
}

export class SpanGate implements FrameConsumer {
  readonly #next: FrameConsumer;
  #held: Held[] = [];
  /** filler frames dropped at the end (after the last frame with audio) */
  droppedFrames = 0;
  /** frames before the first frame with audio, dropped as well */
  leadingFrames = 0;
  /** samples per channel cut off the end of the last frame with audio (its filler tail) */
  droppedTailSamples = 0;
  /** the last frame with audio, while its filler tail waits to learn whether audio follows; it
   *  goes before everything in #held */
  #partial: AudioFrame | undefined;
  #started = false;

  constructor(next: FrameConsumer) {
    this.#next = next;
  }

  /** frames held now (a gap in progress) */
  get heldFrames(): number {
    let n = this.#partial ? 1 : 0;
    for (const h of this.#held) n += "zeros" in h ? h.zeros : 1;
    return n;
  }

  onFrame(frame: AudioFrame): void | Promise<void> {
    if (frame.filler) {
      if (!this.#started) {
        // before the first packet: not part of the call's media either
        this.leadingFrames++;
        return;
      }
      const last = this.#held.at(-1);
      if (isSilent(frame.samples)) {
        if (last && "zeros" in last && last.length === frame.samples.length) last.zeros++;
        else
          this.#held.push({
            zeros: 1,
            pts: frame.pts,
            rate: frame.rate,
            channels: frame.channels,
            length: frame.samples.length,
          });
      } else {
        this.#held.push({ ...frame, samples: frame.samples.slice() });
      }
      return;
    }
    this.#started = true;
    this.#release();
    if (frame.fillerTail) {
      // its tail is filler: whether that is part of the call is known only when the next frame
      // with audio comes (copied, as held concealment is: the frame is not ours to keep)
      this.#partial = { ...frame, samples: frame.samples.slice() };
      return;
    }
    return this.#next.onFrame(frame);
  }

  onEnd(reason: string): void {
    const partial = this.#partial;
    this.#partial = undefined;
    if (partial) {
      // the call ends inside this frame: only its audio goes on
      const tail = partial.fillerTail!;
      const keep = partial.samples.length / partial.channels - tail;
      const { fillerTail: _, ...head } = partial;
      this.droppedTailSamples += tail;
      if (keep > 0)
        void this.#next.onFrame({ ...head, samples: partial.samples.subarray(0, keep * partial.channels) });
    }
    this.droppedFrames += this.heldFrames;
    this.#held = [];
    this.#next.onEnd?.(reason);
  }

  /** a frame with audio came: the gap held so far was part of the call */
  #release(): void {
    const partial = this.#partial;
    if (partial) {
      this.#partial = undefined;
      void this.#next.onFrame(partial);
    }
    if (this.#held.length === 0) return;
    const held = this.#held;
    this.#held = [];
    for (const h of held) {
      if ("zeros" in h) {
        let pts = h.pts;
        for (let i = 0; i < h.zeros; i++) {
          const samples = new Int16Array(h.length);
          void this.#next.onFrame({ pts, rate: h.rate, channels: h.channels, samples });
          pts += h.length / h.channels;
        }
      } else {
        void this.#next.onFrame(h);
      }
    }
  }
}
