// Types of rtcgw-client.js (the browser client for rtcgw; see the header of the .js file).

export type CallState =
  /** created, not started */
  | "new"
  /** microphone open, offer posted, peer connecting */
  | "connecting"
  /** audio flowing on the first peer */
  | "connected"
  /** the peer failed, ICE failed or the network changed: a resume is under way or waiting */
  | "interrupted"
  /** a new peer has been offered to the session (POST …/resume) and is connecting */
  | "resuming"
  /** audio flowing again on a new peer (the same session, recording, listeners, bridge socket) */
  | "resumed"
  /** hung up, refused, or no resume within the window */
  | "ended";

export interface ConnectOptions {
  /** the gateway's base URL, e.g. "https://gw.example.com" ("" = this page's origin) */
  url?: string;
  /** "echo" | "record" | "bridge" (default "echo") */
  profile?: string;
  /** Bearer token for session creation, if the gateway requires one: a client token your
   *  backend minted for this call (docs/signaling.md) — never RTCGW_API_TOKEN, which must not
   *  reach a browser */
  token?: string;
  /** true (default): ask for the microphone; a stream or track to send; constraints; false: receive only */
  microphone?: boolean | MediaStream | MediaStreamTrack | MediaTrackConstraints;
  /** more query parameters of POST /v1/sessions (e.g. { rate: "16000" } for record) */
  params?: Record<string, string>;
  /** datachannel label (default "chat"); false for none */
  dataChannel?: string | false;
  /** give up resuming after this long (default 20 000 ms, as RTCGW_RESUME_WINDOW) */
  resumeWindowMs?: number;
  /** ICE servers of your own, used beside those the gateway announces in its `Link` headers
   *  (RFC 9725 §4.6: its STUN servers and a per-session TURN credential, applied before the
   *  browser gathers) */
  iceServers?: RTCIceServer[];
  /** "all" (default) or "relay": only TURN-relayed candidates (hides the caller's addresses) */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** how often "stats" fires (default 1000 ms) */
  statsIntervalMs?: number;
  /** resume by itself on a network change or peer failure (default true); resume() works either way */
  autoResume?: boolean;
  /** how long one request to the gateway (create, resume, delete) may take before it fails
   *  (default 10 000 ms): a create fails, a resume attempt fails and is retried within the window */
  requestTimeoutMs?: number;
}

export interface CallStats {
  packetsSent: number;
  packetsReceived: number;
  packetsLost: number;
  concealedMs: number;
  rttMs?: number;
  state: CallState;
  resumes: number;
  /** ms from the last interruption to the resumed peer's connection */
  lastGapMs?: number;
}

export interface CallEvents {
  state: CustomEvent<{ state: CallState; previous: CallState; cause?: string; reason?: string }>;
  stats: CustomEvent<CallStats>;
  track: CustomEvent<{ track: MediaStreamTrack; stream: MediaStream }>;
  message: CustomEvent<string | ArrayBuffer | Blob>;
  channel: CustomEvent<{ open: boolean }>;
  resumed: CustomEvent<{ resumes: number; gapMs: number; tookMs: number }>;
  "resume-failed": CustomEvent<{ error: string; retryInMs: number }>;
  /** a network cue (online, navigator.connection change) after which the path still carried
   *  packets: the call goes on as it is */
  network: CustomEvent<{ kind: string; pathAlive: boolean }>;
  ended: CustomEvent<{ reason: string }>;
}

export class RtcgwError extends Error {
  constructor(status: number, code: string, reason: string);
  readonly status: number;
  readonly code: string;
  readonly reason: string;
}

export class RtcgwCall extends EventTarget {
  readonly state: CallState;
  /** the call's audio from the gateway; the same stream across resumes */
  readonly remoteStream: MediaStream;
  readonly microphone: MediaStream | undefined;
  /** the current peer (replaced by a resume) */
  readonly pc: RTCPeerConnection | undefined;
  readonly dataChannel: RTCDataChannel | undefined;
  /** the session's URL (Location) — the same across resumes */
  readonly sessionUrl: string | undefined;
  /** the per-session secret (Rtcgw-Session-Token) */
  readonly sessionToken: string | undefined;
  readonly etag: string | undefined;
  readonly resumes: number;
  readonly lastGapMs: number | undefined;
  /** Date.now() of the interruption a resume is under way for (undefined once resumed) */
  readonly interruptedAt: number | undefined;
  constructor(options?: ConnectOptions);
  /** rejects (and the call ends, with an "ended" event) if the gateway refuses (RtcgwError), does
   *  not answer within requestTimeoutMs, or hangUp() came first (an AbortError) */
  start(): Promise<void>;
  /** ends the call; a session whose creation is still in flight is deleted once it answers */
  hangUp(): Promise<void>;
  /** resume now with a new peer, also with autoResume: false */
  resume(cause?: string): void;
  simulateNetworkChange(): void;
  stats(): Promise<CallStats | undefined>;
  send(text: string): void;
  addEventListener<K extends keyof CallEvents>(
    type: K,
    listener: (ev: CallEvents[K]) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof CallEvents>(
    type: K,
    listener: (ev: CallEvents[K]) => void,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}

export function connect(options?: ConnectOptions): Promise<RtcgwCall>;
