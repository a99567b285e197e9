// The `blackhole` profile, and a WHEP listener's own (it receives nothing): every packet is
// consumed and dropped from the first one (docs/design.md rule 2), nothing is decoded.
import { emptyCounters } from "../receive/counters.js";
import type { MediaSession } from "./media-session.js";
import type { PipelineStats } from "./stats.js";

export class BlackHoleSession implements MediaSession {
  readonly profile = "blackhole";
  readonly inbound = undefined;
  packets = 0;

  pushRtp(_packet: Uint8Array, _arrivalMs: number): void {
    this.packets++;
  }

  tick(_nowMs: number): void {}

  stats(): PipelineStats {
    return {
      profile: this.profile,
      lost: 0,
      late: 0,
      duplicates: 0,
      reordered: 0,
      concealedMs: 0,
      silenceFilledMs: 0,
      dtxMs: 0,
      timelineMs: 0,
      jitterDepthMs: 0,
      errors: 0,
      receiver: emptyCounters(),
      consumers: [],
    };
  }

  close(_nowMs: number): undefined {
    return undefined;
  }
}
