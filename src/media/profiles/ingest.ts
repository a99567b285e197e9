// A receive-only session with no profile work (WHIP ingest that only feeds listeners, or a
// session whose profile is not assembled): the timeline still runs and the black hole consumes
// it from the first packet (docs/design.md rule 2); listeners subscribe through `inbound`.
import type { CodecSpec } from "../../audio/codecs/types.js";
import { loadResampler } from "../../audio/resampler/index.js";
import type { PlayoutDelayOptions } from "../receive/playout-delay.js";
import { InboundAudio } from "./inbound.js";
import { type PipelineStats, receiverStats } from "./stats.js";

export interface IngestSessionOptions {
  codec: CodecSpec;
  startMs?: number;
  jitter?: PlayoutDelayOptions;
}

export class IngestSession {
  readonly profile = "ingest";
  readonly inbound: InboundAudio;

  constructor(o: IngestSessionOptions) {
    this.inbound = new InboundAudio(o);
  }

  pushRtp(packet: Uint8Array, arrivalMs: number): void {
    this.inbound.pushRtp(packet, arrivalMs);
  }

  tick(nowMs: number): void {
    this.inbound.tick(nowMs);
  }

  close(nowMs: number): undefined {
    this.inbound.close(nowMs);
  }

  stats(): PipelineStats {
    return receiverStats(this.profile, this.inbound);
  }
}

export async function createIngestSession(o: IngestSessionOptions): Promise<IngestSession> {
  await loadResampler(); // listeners resample
  return new IngestSession(o);
}
