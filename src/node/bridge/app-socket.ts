// The bridge profile's WebSocket leg: the node dials the application's URL and carries the
// caller's audio there and the application's audio back (protocol: docs/pipeline.md, "Bridge
// protocol"). The socket is the session's *optional* half: if it never opens, errors or closes,
// that is logged with the session id and counted, and the call goes on (WHEP listeners still hear
// the caller). The media side lives in src/media/profiles/bridge.ts.
import { endianness } from "node:os";
import WebSocket from "ws";
import type { BridgeLegStats } from "../../control/contract.js";
import type { Logger } from "../../log/index.js";
import { BRIDGE_FRAME_MS, BRIDGE_RATE } from "../../media/index.js";

/** at most this much unsent audio waits in the socket (~1 s); beyond it frames are dropped */
export const BRIDGE_MAX_BUFFERED_BYTES = BRIDGE_RATE * 2;
/** a socket that is not open by then is given up (the call goes on without it) */
export const BRIDGE_OPEN_TIMEOUT_MS = 5_000;
/** the largest message the application may send (1 MiB ≈ 32 s of audio); ws closes with 1009 beyond */
export const BRIDGE_MAX_MESSAGE_BYTES = 1 << 20;

const LITTLE_ENDIAN = endianness() === "LE";

export type BridgeSocketState = BridgeLegStats["state"];

export interface BridgeSocketOptions {
  url: string;
  sessionId: string;
  log: Logger;
  /** application → caller audio: s16 mono 16 kHz */
  onAudio: (samples: Int16Array) => void;
  /** the application asked to drop its queued audio (barge-in) */
  onClear: () => void;
  openTimeoutMs?: number;
  maxBufferedBytes?: number;
}

export class BridgeSocket {
  readonly #ws: WebSocket;
  readonly #o: BridgeSocketOptions;
  readonly #maxBuffered: number;
  #state: BridgeSocketState = "connecting";
  #failed = false;
  #dropping = false;
  #ended = false;
  readonly #s = {
    framesSent: 0,
    framesNotOpen: 0,
    framesDropped: 0,
    audioIn: 0,
    audioInBytes: 0,
    clears: 0,
    protocolErrors: 0,
  };

  constructor(o: BridgeSocketOptions) {
    this.#o = o;
    this.#maxBuffered = o.maxBufferedBytes ?? BRIDGE_MAX_BUFFERED_BYTES;
    this.#ws = new WebSocket(o.url, {
      // covers the TCP connect and the HTTP upgrade
      handshakeTimeout: o.openTimeoutMs ?? BRIDGE_OPEN_TIMEOUT_MS,
      // a redirect would dial a host the allowlist never saw
      followRedirects: false,
      maxPayload: BRIDGE_MAX_MESSAGE_BYTES,
      perMessageDeflate: false, // PCM does not compress; deflate would only cost CPU
    });
    this.#ws.binaryType = "nodebuffer";
    this.#ws.on("open", () => this.#opened());
    this.#ws.on("message", (data, isBinary) => this.#message(data as Buffer, isBinary));
    this.#ws.on("error", (err) => this.#fail("error", err.message));
    this.#ws.on("close", (code, reason) => this.#fail("closed", `${code} ${reason.toString()}`.trim()));
  }

  get state(): BridgeSocketState {
    return this.#state;
  }

  /** one 20 ms frame of the caller's audio (s16 mono 16 kHz) to the application */
  sendFrame(samples: Int16Array): void {
    if (this.#state !== "open") {
      this.#s.framesNotOpen++;
      return;
    }
    // backpressure: never let unsent audio grow without bound in the socket's buffer
    if (this.#ws.bufferedAmount > this.#maxBuffered) {
      this.#s.framesDropped++;
      if (!this.#dropping) {
        this.#dropping = true;
        this.#o.log.warn(
          { event: "bridge_backpressure", bufferedBytes: this.#ws.bufferedAmount },
          "bridge application is not reading; dropping frames",
        );
      }
      return;
    }
    this.#dropping = false;
    const bytes = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    this.#ws.send(LITTLE_ENDIAN ? bytes : Buffer.from(bytes).swap16(), { binary: true });
    this.#s.framesSent++;
  }

  /** the session ended: say so and close normally (1000); a socket still connecting is dropped */
  close(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    const was = this.#state;
    this.#state = "closed";
    try {
      if (was === "open") {
        this.#ws.send(JSON.stringify({ type: "stop", reason }));
        this.#ws.close(1000, reason.slice(0, 120)); // RFC 6455 §5.5: control payloads ≤ 125 bytes
      } else if (was === "connecting") {
        this.#ws.terminate();
      }
    } catch (err) {
      // the session's teardown must not fail because of the application's socket
      this.#o.log.warn({ event: "bridge_close_failed", err: (err as Error).message }, "bridge close failed");
    }
    // the session's bridge figures, once, where the session's other end-of-call lines are
    this.#o.log.info({ event: "bridge_closed", ...this.stats() }, "bridge socket closed");
  }

  stats(): BridgeLegStats {
    return { state: this.#state, failed: this.#failed, ...this.#s };
  }

  #opened(): void {
    if (this.#state !== "connecting") return;
    this.#state = "open";
    this.#ws.send(
      JSON.stringify({
        type: "start",
        sessionId: this.#o.sessionId,
        format: "s16le",
        rate: BRIDGE_RATE,
        channels: 1,
        frameMs: BRIDGE_FRAME_MS,
      }),
    );
    this.#o.log.info({ event: "bridge_open", url: redact(this.#o.url) }, "bridge socket open");
  }

  #message(data: Buffer, isBinary: boolean): void {
    if (this.#state !== "open") return;
    try {
      if (isBinary) {
        if (data.length % 2 !== 0) {
          this.#protocolError(`audio message of odd length ${data.length}`);
          return;
        }
        // copy into an aligned Int16Array (ws buffers may start at an odd offset)
        const samples = new Int16Array(data.length / 2);
        const view = Buffer.from(samples.buffer);
        data.copy(view);
        if (!LITTLE_ENDIAN) view.swap16();
        this.#s.audioIn++;
        this.#s.audioInBytes += data.length;
        this.#o.onAudio(samples);
        return;
      }
      let msg: unknown;
      try {
        msg = JSON.parse(data.toString("utf8"));
      } catch {
        this.#protocolError("text message is not JSON");
        return;
      }
      if ((msg as { type?: unknown } | null)?.type === "clear") {
        this.#s.clears++;
        this.#o.onClear();
      } else this.#protocolError("unknown text message type");
    } catch (err) {
      // the application's message must never throw into the socket's event handler
      this.#protocolError(`message handling failed: ${(err as Error).message}`);
    }
  }

  #protocolError(what: string): void {
    this.#s.protocolErrors++;
    // the first one says what is wrong; later ones only count (a broken app could flood the log)
    if (this.#s.protocolErrors === 1)
      this.#o.log.warn({ event: "bridge_protocol_error", what }, "bridge application broke the protocol");
  }

  #fail(kind: "error" | "closed", detail: string): void {
    if (this.#state === "closed") return; // we closed it: not a failure
    const was = this.#state;
    this.#state = "closed";
    this.#failed = true;
    // the call goes on without the application: listeners still hear the caller
    this.#o.log.warn(
      { event: "bridge_failed", kind, detail, url: redact(this.#o.url), wasOpen: was === "open" },
      "bridge socket failed; the session goes on without it",
    );
    if (kind === "error") this.#ws.terminate();
  }
}

/** a URL for the log: no query string (it may carry the application's token) */
function redact(url: string): string {
  const i = url.search(/[?#]/);
  return i < 0 ? url : `${url.slice(0, i)}?…`;
}
