// What a pipeline session reports: the receive-quality counters under the names the control
// API's MediaStats uses (src/control/contract.ts declares that shape; the node copies these
// fields into it), plus each stage's own numbers.

import type { ReceiverCounters } from "../receive/counters.js";
import type { RelayConsumerStats } from "../relay.js";
import type { AudioSenderStats } from "../send/audio-sender.js";
import type { OggOpusWriterStats } from "../sinks/ogg-opus-writer.js";
import type { WavWriterStats } from "../sinks/wav-writer.js";
import type { InboundAudio } from "./inbound.js";

export interface PipelineStats {
  profile: string;
  lost: number;
  late: number;
  duplicates: number;
  reordered: number;
  concealedMs: number;
  /** silence written for long gaps and before the first packet (not DTX) */
  silenceFilledMs: number;
  dtxMs: number;
  /** ms of audio on the timeline so far */
  timelineMs: number;
  jitterDepthMs: number;
  /** exceptions caught at the pipeline's edge (should stay 0; see lastError on the session's inbound) */
  errors: number;
  receiver: ReceiverCounters;
  consumers: RelayConsumerStats[];
  wav?: WavWriterStats;
  ogg?: OggOpusWriterStats;
  sender?: AudioSenderStats;
}

/** The receive side's figures, common to every profile that has an inbound timeline. */
export function receiverStats(profile: string, inbound: InboundAudio): PipelineStats {
  const c = inbound.counters();
  return {
    profile,
    lost: c.lost,
    late: c.late,
    duplicates: c.duplicate,
    reordered: c.reordered,
    concealedMs: c.concealedMs,
    silenceFilledMs: c.silenceMs,
    dtxMs: c.dtxMs,
    timelineMs: c.frames * 20,
    jitterDepthMs: inbound.receiver.depthMs,
    errors: inbound.errors,
    receiver: { ...c },
    consumers: inbound.relay.stats(),
  };
}
