// The black hole (docs/design.md rule 2): consumes a track from its first frame and drops it, so an
// incoming track with no other consumer never backs up. Counts what it swallowed.
import type { AudioFrame } from "../frame.js";
import type { FrameConsumer } from "../track.js";

export class BlackHoleSink implements FrameConsumer {
  frames = 0;
  samples = 0;
  packets = 0;
  bytes = 0;
  ended = false;

  onFrame(frame: AudioFrame): void {
    this.frames++;
    this.samples += frame.samples.length / frame.channels;
  }

  /** the packet-level form: the receiver's onPacket slot callback */
  onPacket(payload: Uint8Array | null): void {
    this.packets++;
    if (payload) this.bytes += payload.length;
  }

  onEnd(): void {
    this.ended = true;
  }
}
