// Twilio Media Streams, bidirectional, as Twilio documents its WebSocket messages
// (https://www.twilio.com/docs/voice/media-streams/websocket-messages): an agent written for a
// Twilio <Connect><Stream> runs against rtcgw with no change but its URL. JSON text only; audio is
// base64 μ-law at 8000 Hz mono both ways; every message but `connected` carries `sequenceNumber`
// (a string, "1" on `start`) and `streamSid`; `media.chunk` ("1", "2", …) and `media.timestamp`
// (ms since the stream began) are strings too, as Twilio sends them.
import { decodeUlaw, encodeUlaw } from "../../media/index.js";
import type { AgentCommand, BridgeProtocol, CallInfo, NodeEvent, WireMessage } from "./protocol.js";
import { parseJsonObject } from "./protocol.js";
import { MAX_MARK_NAME } from "./rtcgw.js";
import { TWILIO_SIGNATURE_HEADER, twilioSignature } from "./signature.js";

export const TWILIO_RATE = 8000;
/** Twilio keeps up to 10 minutes of an agent's audio queued (its warning 31931: "More than 10
 *  minutes of audio is buffered"): an agent that sends a long prompt at once relies on it. At 8 kHz
 *  that is 9.6 MB at most, and the queue grows only as far as it is filled (PcmPushSource). */
export const TWILIO_BUFFER_MS = 10 * 60_000;
/** Twilio names no cap on marks; agents mark finely (OpenAI's transport every audio delta, its
 *  Python example every 50 ms): one per 50 ms of the 10-minute queue. At most ~8 MB of pending
 *  names for an agent that floods them (≤ 256 characters each), answered ≤ 250 a tick. */
export const TWILIO_MAX_PENDING_MARKS = TWILIO_BUFFER_MS / 50;
/** rtcgw has no Twilio account: a well-formed AccountSid that names none */
export const TWILIO_ACCOUNT_SID = `AC${"0".repeat(32)}`;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export class TwilioProtocol implements BridgeProtocol {
  readonly name = "twilio" as const;
  readonly rate = TWILIO_RATE;
  readonly bufferMs = TWILIO_BUFFER_MS;
  readonly maxPendingMarks = TWILIO_MAX_PENDING_MARKS;
  #streamSid = "";
  /** the stream id as a JSON string, for the media messages written as text */
  #streamSidJson = '""';
  #callSid = "";
  /** per socket: `start` is "1" on each (re)connection */
  #seq = 0;
  /** per stream: chunks count on across a redial */
  #chunk = 0;

  #next(): string {
    this.#seq++;
    return String(this.#seq);
  }

  opening(call: CallInfo): WireMessage[] {
    this.#streamSid = call.streamId;
    this.#streamSidJson = JSON.stringify(call.streamId);
    this.#callSid = call.sessionId;
    this.#seq = 0;
    return [
      JSON.stringify({ event: "connected", protocol: "Call", version: "1.0.0" }),
      JSON.stringify({
        event: "start",
        sequenceNumber: this.#next(),
        start: {
          accountSid: TWILIO_ACCOUNT_SID,
          streamSid: this.#streamSid,
          callSid: this.#callSid,
          tracks: ["inbound"],
          customParameters: call.params,
          mediaFormat: { encoding: "audio/x-mulaw", sampleRate: TWILIO_RATE, channels: 1 },
          ...(call.resumed ? { resumed: true } : {}),
        },
        streamSid: this.#streamSid,
      }),
    ];
  }

  audio(frame: Int16Array, ms: number): WireMessage {
    this.#chunk++;
    const u = encodeUlaw(frame);
    // 50 of these a second per call: written as text, not JSON.stringify of a fresh object — every
    // field is digits or base64 (no escaping); the stream id is JSON-escaped once per socket
    const payload = Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString("base64");
    return `{"event":"media","sequenceNumber":"${this.#next()}","media":{"track":"inbound","chunk":"${this.#chunk}","timestamp":"${Math.round(ms)}","payload":"${payload}"},"streamSid":${this.#streamSidJson}}`;
  }

  event(e: NodeEvent): WireMessage | undefined {
    switch (e.type) {
      case "mark":
        return JSON.stringify({
          event: "mark",
          sequenceNumber: this.#next(),
          streamSid: this.#streamSid,
          mark: { name: e.name },
        });
      case "dtmf":
        return JSON.stringify({
          event: "dtmf",
          streamSid: this.#streamSid,
          sequenceNumber: this.#next(),
          dtmf: { track: "inbound_track", digit: e.digit },
        });
      default:
        return undefined; // Twilio has no message for it (played, datachannel text, resumed)
    }
  }

  stop(_reason: string): WireMessage {
    return JSON.stringify({
      event: "stop",
      sequenceNumber: this.#next(),
      streamSid: this.#streamSid,
      stop: { accountSid: TWILIO_ACCOUNT_SID, callSid: this.#callSid },
    });
  }

  /** A Twilio agent ends its stream by closing its socket: Twilio never redials. A close with 1000,
   *  or with no status code (read as 1005: what Node's `ws` `close()` sends without arguments — the
   *  usual hang-up of a Node agent) ends the call; any other close (1001 going away, 1011, 4xxx)
   *  or a drop without a close frame (1006) is redialed, the gateway's own help for an agent that
   *  restarts. */
  closeEndsCall(code: number): boolean {
    return code === 1000 || code === 1005;
  }

  /** Twilio signs the upgrade with X-Twilio-Signature: agents written for it check that header */
  signedDialHeaders(secret: string, url: string): Record<string, string> {
    return { [TWILIO_SIGNATURE_HEADER]: twilioSignature(secret, url) };
  }

  parse(data: Buffer, isBinary: boolean): AgentCommand {
    if (isBinary) return { type: "error", what: "binary message (Twilio Media Streams is JSON text only)" };
    const parsed = parseJsonObject(data);
    if ("refused" in parsed) return parsed.refused;
    const { msg } = parsed;
    switch (msg.event) {
      case "media": {
        const payload = (msg.media as { payload?: unknown } | undefined)?.payload;
        if (typeof payload !== "string" || !BASE64.test(payload) || payload.length % 4 !== 0)
          return { type: "error", what: "media needs media.payload: base64 μ-law" };
        return { type: "audio", samples: decodeUlaw(Buffer.from(payload, "base64")) };
      }
      case "mark": {
        const name = (msg.mark as { name?: unknown } | undefined)?.name;
        return typeof name === "string" && name.length <= MAX_MARK_NAME
          ? { type: "mark", name }
          : { type: "error", what: `mark needs mark.name, a string of at most ${MAX_MARK_NAME} characters` };
      }
      case "clear":
        return { type: "clear" };
      case "connected":
        // Twilio's own first message, which some agents built on Twilio libraries echo back: harmless
        return { type: "none" };
      default:
        return { type: "error", what: "unknown event (a Twilio agent sends media, mark or clear)" };
    }
  }
}
