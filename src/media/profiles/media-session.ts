// The one shape the media node sees of a session's media, whatever the profile: RTP in with its
// arrival time, ticks from the node's shared 20 ms clock (same clock as the arrival times),
// stats, and close at the call's true end → the files it wrote. createProfile (./create.ts)
// is the only way the node gets one.
import type { Logger } from "../../log/index.js";
import type { TickSource } from "../clock.js";
import type { PacketSink } from "../send/audio-sender.js";
import type { AppLink } from "./bridge.js";
import type { NegotiatedCodec } from "./codec.js";
import type { InboundAudio } from "./inbound.js";
import type { RecordingResult, RecordRate } from "./record.js";
import type { PipelineStats } from "./stats.js";

/** what a client may ask a session to do with its audio (the control API's profiles) */
export type ProfileKind = "echo" | "record" | "bridge" | "blackhole";

export interface MediaSession {
  /** the assembly actually running: a profile, or "ingest" (decode only, for listeners) */
  readonly profile: ProfileKind | "ingest";
  /** the decoded, repaired incoming audio WHEP listeners subscribe to (none for a black hole) */
  readonly inbound: InboundAudio | undefined;
  /** one whole decrypted RTP datagram, with its arrival time (ms, the ticks' clock) */
  pushRtp(packet: Uint8Array, arrivalMs: number): void;
  /** emit whatever is due at `nowMs` (the shared 20 ms clock) */
  tick(nowMs: number): void;
  /** the peer connected at `nowMs` (ProfileContext `waitForPeer`): what waits for the call to
   *  begin begins (a bridge's agent audio, its recording's timeline) */
  start?(nowMs: number): void;
  stats(): PipelineStats;
  /** the files it records into, while it runs (none for a profile that records nothing) */
  recordingFiles?(): { wav: string; ogg?: string } | undefined;
  /** the call ended at `nowMs`: complete the timeline, flush and close every file */
  close(nowMs: number): RecordingResult | undefined;
}

export interface ProfileContext {
  sessionId: string;
  codec: NegotiatedCodec;
  /** the session receives audio (false for a WHEP listener: its audio comes from its source) */
  receives: boolean;
  /** the peer's outgoing track, when the session sends */
  out?: PacketSink;
  log: Logger;
  /** RECORDINGS_DIR */
  recordingsDir: string;
  recordRate?: RecordRate;
  /** the echo's Opus encoder complexity (RTCGW_ECHO_COMPLEXITY) */
  echoComplexity?: number;
  /** bridge: record the call on two channels (caller left, agent right) in recordingsDir */
  bridgeRecord?: boolean;
  /** bridge: the application's end (the node's WebSocket), already allowed and dialling */
  app?: AppLink;
  /** the node's shared 20 ms ticker: a bridge paces the application's audio back on it instead
   *  of a timer per session (src/media/send/pacer.ts) */
  ticks?: TickSource;
  /** the session is answered before its peer connects: the call begins at start() */
  waitForPeer?: boolean;
}

/** The media assembly of a session cannot be built (resampler WASM missing, recording files
 *  that cannot be opened…): the session must be refused, not kept as a silent black hole. */
export class MediaAssemblyError extends Error {
  override name = "MediaAssemblyError";
  constructor(
    readonly profile: ProfileKind,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}
