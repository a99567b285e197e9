// rtcgw's own bridge protocol (docs/bridge.md, "rtcgw"): binary frames of s16le PCM at the agent's
// rate both ways, JSON text for everything else. Wideband by default (16 kHz), any of 8/16/24/48.
import { endianness } from "node:os";
import { BRIDGE_FRAME_MS, BRIDGE_OUT_BUFFER_MS } from "../../media/index.js";
import type {
  AgentCommand,
  BridgeProtocol,
  CallInfo,
  NodeEvent,
  ProtocolOptions,
  WireMessage,
} from "./protocol.js";
import { parseJsonObject } from "./protocol.js";

const LITTLE_ENDIAN = endianness() === "LE";
/** the longest name of a mark, and the longest datachannel text, taken from the agent */
export const MAX_MARK_NAME = 256;
export const MAX_MESSAGE_CHARS = 64 * 1024;

/** marks that may wait (agent-bridge.ts says why a bound): one per 20 ms frame of the queue */
export const MAX_PENDING_MARKS = BRIDGE_OUT_BUFFER_MS / BRIDGE_FRAME_MS;

export class RtcgwProtocol implements BridgeProtocol {
  readonly name = "rtcgw" as const;
  readonly rate: number;
  readonly bufferMs = BRIDGE_OUT_BUFFER_MS;
  readonly maxPendingMarks = MAX_PENDING_MARKS;

  constructor(o: ProtocolOptions) {
    this.rate = o.rate;
  }

  opening(call: CallInfo): WireMessage[] {
    return [
      JSON.stringify({
        type: "start",
        sessionId: call.sessionId,
        streamId: call.streamId,
        format: "s16le",
        rate: this.rate,
        channels: 1,
        frameMs: 20,
        params: call.params,
        ...(call.resumed ? { resumed: true } : {}),
      }),
    ];
  }

  audio(frame: Int16Array, _ms: number): WireMessage {
    const bytes = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    return LITTLE_ENDIAN ? bytes : Buffer.from(bytes).swap16();
  }

  event(e: NodeEvent): WireMessage | undefined {
    return JSON.stringify(e);
  }

  stop(reason: string): WireMessage {
    return JSON.stringify({ type: "stop", reason });
  }

  /** an agent ends the call with {"type":"hangup"}; any close without it is redialed */
  closeEndsCall(_code: number): boolean {
    return false;
  }

  parse(data: Buffer, isBinary: boolean): AgentCommand {
    if (isBinary) {
      if (data.length % 2 !== 0) return { type: "error", what: `audio message of odd length ${data.length}` };
      // copy into an aligned Int16Array (ws buffers may start at an odd offset)
      const samples = new Int16Array(data.length / 2);
      const view = Buffer.from(samples.buffer);
      data.copy(view);
      if (!LITTLE_ENDIAN) view.swap16();
      return { type: "audio", samples };
    }
    const parsed = parseJsonObject(data);
    if ("refused" in parsed) return parsed.refused;
    const { msg } = parsed;
    switch (msg.type) {
      case "clear":
        return { type: "clear" };
      case "mark":
        return typeof msg.name === "string" && msg.name.length <= MAX_MARK_NAME
          ? { type: "mark", name: msg.name }
          : { type: "error", what: `mark needs a "name" string of at most ${MAX_MARK_NAME} characters` };
      case "hangup":
        return {
          type: "hangup",
          ...(typeof msg.reason === "string" ? { reason: msg.reason.slice(0, 200) } : {}),
        };
      case "message":
        return typeof msg.data === "string" && msg.data.length <= MAX_MESSAGE_CHARS
          ? { type: "message", data: msg.data }
          : {
              type: "error",
              what: `message needs a "data" string of at most ${MAX_MESSAGE_CHARS} characters`,
            };
      default:
        return { type: "error", what: "unknown text message type" };
    }
  }
}
