// The control API between signaling and a media node (never public). Shared by both sides so the
// contract cannot drift; signaling reaches the node over HTTP only and never imports src/node/.
//
// Every request is signed (see ./hmac.ts). Routes:
//   POST   /internal/sessions        CreateSessionRequest → 201 CreateSessionResponse
//   PATCH  /internal/sessions/:id    PatchSessionRequest  → 204 (trickle) | 200 PatchSessionResponse (restart)
//   POST   /internal/sessions/:id/resume ResumeSessionRequest → 200 ResumeSessionResponse (a new
//                                    peer under the same session; 410 when it has ended)
//   DELETE /internal/sessions/:id    → 204 (idempotent)
//   GET    /internal/sessions/:id    → 200 SessionStatus
//   GET    /internal/health          → 200 NodeHealth
//   GET    /metrics                  → Prometheus text (unsigned, for scrapers)
// Errors: JSON ControlError with the HTTP status the signaling should pass on where it is a 4xx:
//   400 malformed SDP · 413 too large · 422 unsupported offer / restart unsupported · 404 unknown
//   session · 401 bad signature / stale / replay · 503 full or draining.
// zod/mini (same zod 4 core, functional API): the contract is on the functions' cold start path,
// where classic zod's import costs ~40 ms more. Unlike classic zod, zod/mini does not install the
// English messages itself; the node's 400 reasons are built from them, so register them here.
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

z.config(en());

/** The session-id rule of the wire (signaling and node): 16–64 base64url characters, as
 *  newSessionCredentials makes them (src/signaling/credentials.ts). The registry's id check and
 *  the recording file-name guard (src/media/sinks/paths.ts) are looser on purpose: each layer
 *  below accepts every id this rule lets through. */
export const SESSION_ID_RE = /^[A-Za-z0-9_-]{16,64}$/;
/** an ETag value (unquoted): the signaling picks it, so the record is written once with it */
export const ETAG_RE = /^[A-Za-z0-9_-]{8,64}$/;
export const MAX_SDP_BYTES = 64 * 1024;
/** bridge parameters: a name of letters, digits, _ and -; a value of up to 512 characters; 16 of them */
export const BRIDGE_PARAM_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
export const BRIDGE_PARAM_MAX_VALUE = 512;
export const BRIDGE_PARAMS_MAX = 16;
export type BridgeProtocolName = "rtcgw" | "twilio";

export const SessionKindSchema = z.enum(["whip", "session", "whep"]);
export const ProfileSchema = z.enum(["echo", "record", "bridge", "blackhole"]);
export type Profile = z.infer<typeof ProfileSchema>;

const sessionId = () => z.string().check(z.regex(SESSION_ID_RE));
const sdp = () => z.string().check(z.minLength(1), z.maxLength(MAX_SDP_BYTES));

export const CreateSessionRequestSchema = z.object({
  sessionId: sessionId(),
  kind: SessionKindSchema,
  profile: ProfileSchema,
  offer: sdp(),
  /** WHEP: the session whose incoming audio this listener hears */
  sourceSessionId: z.optional(sessionId()),
  /** bridge profile: the application's WebSocket URL */
  bridgeUrl: z.optional(z.url()),
  /** bridge profile: record the call, one stereo WAV (caller left, agent right) in RECORDINGS_DIR */
  bridgeRecord: z.optional(z.boolean()),
  /** bridge profile: the wire protocol (default rtcgw) */
  bridgeProtocol: z.optional(z.enum(["rtcgw", "twilio"])),
  /** bridge profile, rtcgw protocol: the PCM rate both ways (default 16000; twilio is 8000) */
  bridgeRate: z.optional(z.union([z.literal(8000), z.literal(16000), z.literal(24000), z.literal(48000)])),
  /** bridge profile: parameters handed to the agent in its start message (Twilio's customParameters) */
  bridgeParams: z.optional(
    z
      .record(
        z.string().check(z.regex(BRIDGE_PARAM_NAME_RE)),
        z.string().check(z.maxLength(BRIDGE_PARAM_MAX_VALUE)),
      )
      .check(
        z.refine(
          (r) => Object.keys(r).length <= BRIDGE_PARAMS_MAX,
          `at most ${BRIDGE_PARAMS_MAX} bridge parameters`,
        ),
      ),
  ),
  /** record profile: WAV sample rate */
  recordRate: z.optional(z.union([z.literal(8000), z.literal(16000), z.literal(24000), z.literal(48000)])),
  /** the ETag the session starts with (the signaling has recorded it); the node picks one if absent */
  etag: z.optional(z.string().check(z.regex(ETAG_RE))),
});
export type CreateSessionRequest = z.infer<typeof CreateSessionRequestSchema>;

/** A client's new peer for its running session (network change): same id, media, sockets. */
export const ResumeSessionRequestSchema = z.object({
  offer: sdp(),
  /** the session's ETag from now on (the signaling records it) */
  etag: z.optional(z.string().check(z.regex(ETAG_RE))),
});
export type ResumeSessionRequest = z.infer<typeof ResumeSessionRequestSchema>;

export interface ResumeSessionResponse {
  sessionId: string;
  nodeId: string;
  answer: string;
  etag: string;
}

export interface CreateSessionResponse {
  sessionId: string;
  nodeId: string;
  answer: string;
  /** ETag of the ICE state (changes on restart) */
  etag: string;
}

export const PatchSessionRequestSchema = z.object({
  /** body of an application/trickle-ice-sdpfrag PATCH, verbatim */
  sdpfrag: sdp(),
});
export type PatchSessionRequest = z.infer<typeof PatchSessionRequestSchema>;

export interface PatchSessionResponse {
  /** restart: the answer fragment and the new ETag */
  sdpfrag: string;
  etag: string;
}

/** What the node's peer connection counts, below the media pipeline. */
export interface TransportStats {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  rttMs?: number;
}

/** The receive-quality counters every session reports (status and metrics); the pipeline
 *  counts them, the node copies them here. */
export interface MediaStats {
  lost: number;
  late: number;
  duplicates: number;
  reordered: number;
  concealedMs: number;
  /** silence written for long gaps and before the first packet (not DTX) */
  silenceFilledMs: number;
}

/** which direction of a bridged call lost audio, and why (ms of audio) */
export interface BridgeAudioLost {
  /** the caller's audio for the agent: frames dropped because the agent's socket was backed up
   *  (~1 s unsent: the agent does not read fast enough) or closed (not open yet, or being redialed) */
  toAgent: { backpressure: number; socketClosed: number };
  /** the agent's audio for the caller: dropped from a full queue (sent faster than real time
   *  beyond the 20 s bound), or late (the node's pacer skipped ticks after a stall while audio waited) */
  toCaller: { queueFull: number; late: number };
}

/** what a bridge session's WebSocket leg to the application did */
export interface BridgeLegStats {
  /** "reconnecting": the socket dropped and is being redialed (the caller hears silence) */
  state: "connecting" | "open" | "reconnecting" | "closed";
  /** the socket failed for good: it never opened, or could not be redialed within the window */
  failed: boolean;
  protocol: BridgeProtocolName;
  /** the PCM rate on the socket, both ways */
  rate: number;
  /** 20 ms frames sent to the application */
  framesSent: number;
  /** frames dropped because the application did not read fast enough (backpressure) */
  framesDropped: number;
  /** frames dropped because no socket was open: the first dial took longer than the connect timeout */
  framesNotOpen: number;
  /** the caller's frames of a gap (the socket dropped until it was back): dropped, never replayed */
  gapFrames: number;
  /** frames held while the first socket opened, then sent in order */
  earlyFrames: number;
  /** times the socket came back after a drop */
  reconnects: number;
  /** audio messages received from the application, and their bytes */
  audioIn: number;
  audioInBytes: number;
  clears: number;
  /** marks the application sent, and those answered (played or cleared) */
  marks: number;
  marksAnswered: number;
  /** messages from the application that break the protocol (odd-length audio, bad JSON, unknown type,
   *  a message over 1 MiB, a mark beyond the pending cap) */
  protocolErrors: number;
  /** the caller's datachannel texts refused for the agent: longer than 64 Ki characters */
  callerTextsRefused: number;
  /** times the node closed the agent's socket because it had not read several MB (then redialed) */
  closedNotReading: number;
  /** the receive side's current jitter-buffer depth: how long the caller's audio waits before it
   *  is cut into frames for the agent (set by the node from the pipeline's stats) */
  jitterDepthMs?: number;
  /** audio lost on the way, per direction and cause, in ms (what the node's
   *  rtcgw_bridge_audio_lost_seconds_total counts; set by the node from the leg and the pipeline) */
  audioLostMs?: BridgeAudioLost;
  /** why the leg ended, once it has ("hangup", "session ended", "gone for 10 s", …) */
  endReason?: string;
}

export interface SessionStatus {
  sessionId: string;
  kind: z.infer<typeof SessionKindSchema>;
  profile: Profile;
  /** "interrupted": the peer disconnected, failed, closed or went silent; the session waits for a
   *  resume (a silent peer that sends again is connected again by itself) */
  state: "new" | "connecting" | "connected" | "disconnected" | "failed" | "closed" | "interrupted";
  createdAt: number;
  connectedAt?: number;
  /** when the session was interrupted (epoch ms), while it is */
  interruptedAt?: number;
  /** when it ends unless resumed (epoch ms), while it is interrupted */
  resumeBy?: number;
  /** what interrupted it: "disconnected" | "failed" | "closed" | "silent" (neither RTP nor RTCP for
   *  RTCGW_SILENCE_INTERRUPT_S) | "media-timeout" | "resume" (a resume posted while no peer carried
   *  the session: one posted over a connected peer leaves the session connected on it) */
  interruptedBy?: string;
  /** how many times the session was resumed with a new peer */
  resumes?: number;
  /** the peer's transport counters plus the media pipeline's receive quality */
  stats: TransportStats & MediaStats;
  /** the files the session records into, from its start (an Ogg only for an Opus record session;
   *  a recorded bridge writes one stereo WAV) */
  recording?: { wav: string; ogg?: string };
  /** with RTCGW_RECORDINGS_BUCKET: where those files land when the session ends */
  objects?: { bucket: string; wav: string; ogg?: string };
  /** the recording stopped early because the disk refused a write ("disk_full: ENOSPC"); its
   *  files were closed valid at that point */
  recordingError?: string;
  /** bridge sessions: the WebSocket leg to the application */
  bridge?: BridgeLegStats;
}

export interface NodeHealth {
  nodeId: string;
  load: number;
  capacity: number;
  draining: boolean;
  uptimeS: number;
}

export interface ControlError {
  error: string;
  /** a sentence a person can act on */
  reason: string;
}

export const CONTROL_HEADERS = {
  timestamp: "x-rtcgw-timestamp",
  nonce: "x-rtcgw-nonce",
  signature: "x-rtcgw-signature",
  /** the id of the node the request is signed for */
  node: "x-rtcgw-node",
} as const;
