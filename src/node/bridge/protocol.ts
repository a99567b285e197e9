// What a bridge protocol is: how the call's events are written on the agent's WebSocket and how
// the agent's messages are read back. The socket (app-socket.ts) owns dialing, reconnecting,
// backpressure and stats; a protocol owns only the wire format, so a third protocol is one more
// file beside rtcgw.ts and twilio.ts plus a line in PROTOCOLS (index.ts in this folder).
import type { BridgeProtocolName } from "../../control/contract.js";

/** one WebSocket message: text (a string) or binary (a Buffer) */
export type WireMessage = string | Buffer;

/** What the node knows about the call when the socket opens (again). */
export interface CallInfo {
  /** the session id (Twilio's callSid) */
  sessionId: string;
  /** the stream's id, the same on every (re)connection of this call (Twilio's streamSid) */
  streamId: string;
  /** the PCM rate both ways (8000 for twilio) */
  rate: number;
  /** the session's bridge parameters (?bridge_param_<name>=…), handed to the agent as they came */
  params: Record<string, string>;
  /** true on a redial after the socket dropped: the same call goes on */
  resumed: boolean;
  /** does the caller's side send audio back? (false on a receive-only WHIP bridge) */
  sendsBack: boolean;
}

/**
 * Events the node tells the agent about, beside the audio. Optional per protocol: one that has no
 * way to say an event returns undefined and the event is not sent (Twilio has no "played").
 * Other helpers' features add their events here (call resume: `{ type: "resumed", gapMs }`).
 */
export type NodeEvent =
  | { type: "dtmf"; digit: string; durationMs: number }
  | { type: "mark"; name: string }
  | { type: "message"; data: string }
  | { type: "played"; ms: number }
  | { type: "resumed"; gapMs: number };

/** What the agent asked for, one message at a time. */
export type AgentCommand =
  /** audio for the caller, s16 mono at the protocol's rate (any length) */
  | { type: "audio"; samples: Int16Array }
  /** answer with a mark of this name once the audio queued before it has played */
  | { type: "mark"; name: string }
  /** drop the audio queued and not yet played (barge-in); every pending mark is answered */
  | { type: "clear" }
  /** end the call */
  | { type: "hangup"; reason?: string }
  /** text for the caller's datachannel */
  | { type: "message"; data: string }
  /** a message the protocol knows and has nothing to do with (e.g. Twilio's own `connected`) */
  | { type: "none" }
  /** a message that breaks the protocol: counted, the first one logged; the call goes on */
  | { type: "error"; what: string };

/** A text message as the JSON object both protocols speak, or the protocol error it is
 *  (a tagged result: an agent's own object may carry any fields, `type: "error"` included). */
export function parseJsonObject(
  data: Buffer,
): { msg: Record<string, unknown> } | { refused: AgentCommand & { type: "error" } } {
  let msg: unknown;
  try {
    msg = JSON.parse(data.toString("utf8"));
  } catch {
    return { refused: { type: "error", what: "text message is not JSON" } };
  }
  if (typeof msg !== "object" || msg === null)
    return { refused: { type: "error", what: "text message is not a JSON object" } };
  return { msg: msg as Record<string, unknown> };
}

/** One protocol on one call. Stateful (sequence numbers, timestamps), so one instance per call. */
export interface BridgeProtocol {
  readonly name: BridgeProtocolName;
  /** the PCM rate both ways */
  readonly rate: number;
  /** how much of the agent's audio may wait to be played (ms); beyond it the oldest is dropped, counted */
  readonly bufferMs: number;
  /** marks that may wait for their audio (agent-bridge.ts, MAX_PENDING_MARKS says why a bound) */
  readonly maxPendingMarks: number;
  /** the first messages on every (re)opened socket, in order */
  opening(call: CallInfo): WireMessage[];
  /** one 20 ms frame of the caller's audio (rate/50 samples) at `ms` since the stream began */
  audio(frame: Int16Array, ms: number): WireMessage;
  /** a node event written for the agent, or undefined where the protocol has no such message */
  event(e: NodeEvent): WireMessage | undefined;
  /** the last message before the node closes the socket (the call ended) */
  stop(reason: string): WireMessage;
  /** read one message from the agent */
  parse(data: Buffer, isBinary: boolean): AgentCommand;
  /**
   * The agent closed the socket with this code and never said stop/hangup: does that end the
   * call (true) or is the socket redialed (false)? Twilio agents end a stream by closing it.
   */
  closeEndsCall(code: number): boolean;
  /** headers of the protocol's own that a signed dial adds (RTCGW_BRIDGE_SECRET set), besides
   *  rtcgw's X-Rtcgw-Signature: Twilio's X-Twilio-Signature, which Twilio agents check */
  signedDialHeaders?(secret: string, url: string): Record<string, string>;
}

export type { BridgeProtocolName } from "../../control/contract.js";

export interface ProtocolOptions {
  /** the rate the session asked for (bridge_rate); a protocol with a fixed rate ignores it */
  rate: number;
}
