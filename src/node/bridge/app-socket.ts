// The bridge profile's WebSocket leg: the node dials the agent's URL and carries the caller's audio
// there and the agent's messages back, in the session's protocol (protocol.ts; rtcgw.ts,
// twilio.ts). This file owns what every protocol shares: the dial (signed), the caller's first
// words kept while the first socket opens, backpressure, and a socket that comes back — a drop
// without stop/hangup is redialed with backoff for the reconnect window; the new socket gets its
// opening again with the same ids and `resumed`; the caller's frames of the gap are dropped and
// counted (never replayed late); past the window the leg gives up and the session ends. An outage
// ends only when a socket has stayed open (BRIDGE_STABLE_MS): an agent that accepts and closes again
// is one outage, bounded by the window, not a new one per dial.
// Protocol reference: docs/bridge.md. The media side: src/media/profiles/bridge.ts.
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import type { BridgeLegStats } from "../../control/contract.js";
import type { Logger } from "../../log/index.js";
import type { AgentCommand, BridgeProtocol, CallInfo, NodeEvent, WireMessage } from "./protocol.js";
import { MAX_MESSAGE_CHARS } from "./rtcgw.js";
import { signatureHeaders } from "./signature.js";

/** at most ~1 s of unsent audio waits in the socket; beyond it frames are dropped */
export const BRIDGE_MAX_BUFFERED_MS = 1000;
/** one dial (TCP connect + upgrade) that takes longer is abandoned; also how long early frames are kept */
export const BRIDGE_OPEN_TIMEOUT_MS = 5_000;
/** how long a dropped socket is redialed before the session ends (RTCGW_BRIDGE_RECONNECT_S) */
export const BRIDGE_RECONNECT_MS = 10_000;
/** the largest message the application may send (1 MiB ≈ 32 s of audio); ws closes with 1009 beyond */
export const BRIDGE_MAX_MESSAGE_BYTES = 1 << 20;
/** redial backoff: first retry after this, doubling up to BACKOFF_MAX_MS */
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 2_000;
/**
 * How long a (re)opened socket must stay open before its outage is over (the backoff starts again
 * from BACKOFF_FIRST_MS and a later drop gets a whole reconnect window of its own); the reconnect
 * window when that is shorter. Until then a drop belongs to the same outage: the backoff keeps
 * growing and the window counts from the outage's first drop. Why 5 s: an agent that accepts and
 * then refuses the call does so on `start` or on the first audio — an unknown parameter or token
 * (1008, 4xxx), a crash on the first frame (a reset), a first TTS chunk over the message limit
 * (1009) — within milliseconds to a second; 5 s open is past all of those and is a turn of real
 * conversation. Capped at the window: a socket that stayed up as long as the call may be without
 * its agent has earned a window of its own (else an agent up 4 s of every 4.1 s would be ended
 * under a 2 s window). Before this an open reset the backoff and every drop restarted the window:
 * an agent that accepted and closed was redialed ~10×/s for as long as the caller stayed.
 */
export const BRIDGE_STABLE_MS = 5_000;
/**
 * The agent has not read this much of what the node wrote (ws' bufferedAmount): it is not reading,
 * and its socket is closed (BRIDGE_NOT_READING_CLOSE) and redialed like any drop. The caller's audio
 * never gets near it (dropped beyond ~1 s unsent: BRIDGE_MAX_BUFFERED_MS, ≤ 96 kB at 48 kHz) and
 * everything else is small (marks ≤ ~300 bytes, `played` once a second, dtmf) or rare and bounded
 * (a caller's text, ≤ MAX_MESSAGE_CHARS): 4 MiB is > 40 s of the widest audio or dozens of the
 * longest texts, more than an agent that reads at all leaves unread, and it bounds what one agent
 * that stopped reading costs the node (was: 1 GB from an agent sending marks it never read).
 */
export const BRIDGE_MAX_UNREAD_BYTES = 4 << 20;
/** the close the node sends an agent that does not read (RFC 6455 §7.4.1: policy violation) */
export const BRIDGE_NOT_READING_CLOSE = 1008;
/** the close frame waits behind what the agent did not read: this long, then the socket is dropped */
const NOT_READING_GRACE_MS = 1_000;

export type AppSocketState = BridgeLegStats["state"];

/** what the leg tells its owner beside the agent's commands */
export type LegEvent =
  /** the socket dropped; it is being redialed (the caller hears silence) */
  | { type: "gone" }
  /** a redialed socket is open again after `gapMs` */
  | { type: "back"; gapMs: number }
  /** the leg is over for good and the call should end: the agent hung up, or never came (back) */
  | { type: "ended"; reason: string; failed: boolean };

export interface AppSocketOptions {
  url: string;
  sessionId: string;
  protocol: BridgeProtocol;
  params?: Record<string, string>;
  /** false on a receive-only (WHIP) bridge: the agent's audio has nowhere to go */
  sendsBack?: boolean;
  log: Logger;
  /** the agent's audio, marks, clears, hangups and texts (errors and no-ops are handled here) */
  onCommand: (c: AgentCommand) => void;
  /** a reason to refuse a well-formed command before it is counted and acted on (AgentBridge: a
   *  mark beyond the pending cap); a refused command is the agent's protocol error */
  refuse?: (c: AgentCommand) => string | undefined;
  onLeg?: (e: LegEvent) => void;
  /** RTCGW_BRIDGE_SECRET: every dial is signed with it (signature.ts); none, no signature */
  secret?: string;
  openTimeoutMs?: number;
  reconnectMs?: number;
  maxBufferedMs?: number;
  /** BRIDGE_STABLE_MS (always capped at the reconnect window) */
  stableMs?: number;
  /** BRIDGE_MAX_UNREAD_BYTES */
  maxUnreadBytes?: number;
}

export class AppSocket {
  readonly #o: AppSocketOptions;
  readonly #p: BridgeProtocol;
  readonly #streamId = `MZ${randomBytes(16).toString("hex")}`;
  readonly #maxBufferedBytes: number;
  readonly #openTimeoutMs: number;
  readonly #reconnectMs: number;
  readonly #stableMs: number;
  readonly #maxUnreadBytes: number;
  readonly #createdAt = Date.now();
  #ws: WebSocket | undefined;
  #state: AppSocketState = "connecting";
  #failed = false;
  #endReason: string | undefined;
  #dropping = false;
  #everOpen = false;
  /** when the current socket opened (its stability is measured from here) */
  #openedAt = 0;
  /** the caller's first frames, kept while the first socket opens (up to the open timeout); written
   *  when it opens, after the opening messages (a protocol's ids and counters start there) */
  #early: Array<{ samples: Int16Array; ms: number }> = [];
  /** when this socket's gap began (the caller's silence, told in `back`) */
  #gapStartedAt = 0;
  /** when the current outage began: the session's start until a first socket has stayed open
   *  (the first dial has the window from there); then the first drop after a stable socket.
   *  Undefined while a socket is up and has proved stable. */
  #outageSince: number | undefined = this.#createdAt;
  /** drops of open sockets in the current outage */
  #outageDrops = 0;
  /** the outage's first loss was logged at warn; the rest of it goes to debug (one line per dial
   *  otherwise: an agent refusing every call filled the log) */
  #outageLogged = false;
  /** dials in the current outage: the backoff's exponent (reset only by a stable socket) */
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #stableTimer: NodeJS.Timeout | undefined;
  /** the socket being closed because it did not read: nothing more is written to it */
  #closingUnread: WebSocket | undefined;
  readonly #s = {
    framesSent: 0,
    framesNotOpen: 0,
    framesDropped: 0,
    gapFrames: 0,
    earlyFrames: 0,
    reconnects: 0,
    audioIn: 0,
    audioInBytes: 0,
    clears: 0,
    marks: 0,
    marksAnswered: 0,
    protocolErrors: 0,
    callerTextsRefused: 0,
    closedNotReading: 0,
  };

  constructor(o: AppSocketOptions) {
    this.#o = o;
    this.#p = o.protocol;
    this.#openTimeoutMs = o.openTimeoutMs ?? BRIDGE_OPEN_TIMEOUT_MS;
    this.#reconnectMs = o.reconnectMs ?? BRIDGE_RECONNECT_MS;
    this.#stableMs = Math.min(o.stableMs ?? BRIDGE_STABLE_MS, this.#reconnectMs);
    this.#maxUnreadBytes = o.maxUnreadBytes ?? BRIDGE_MAX_UNREAD_BYTES;
    // bytes of ~1 s of frames as this protocol writes them (a Twilio media message is ~370 bytes
    // of JSON around 160 bytes of μ-law: ~18.5 kB/s)
    const perSecond = this.#p.name === "twilio" ? 50 * 370 : this.#p.rate * 2;
    this.#maxBufferedBytes = Math.round((perSecond * (o.maxBufferedMs ?? BRIDGE_MAX_BUFFERED_MS)) / 1000);
    this.#dial();
  }

  get state(): AppSocketState {
    return this.#state;
  }

  get streamId(): string {
    return this.#streamId;
  }

  /** one 20 ms frame of the caller's audio, at `ms` since the stream began */
  sendFrame(samples: Int16Array, ms: number): void {
    if (this.#state === "open") {
      this.#sendAudio(this.#p.audio(samples, ms));
      return;
    }
    if (this.#state === "connecting" && !this.#everOpen) {
      // the caller's first words wait for the agent, up to the open timeout, then go in order
      if (Date.now() - this.#createdAt <= this.#openTimeoutMs) {
        this.#early.push({ samples, ms });
        this.#s.earlyFrames++;
      } else this.#s.framesNotOpen++;
      return;
    }
    if (this.#state === "reconnecting") this.#s.gapFrames++;
    else this.#s.framesNotOpen++;
  }

  /**
   * The caller's datachannel text for the agent. Longer than MAX_MESSAGE_CHARS (the limit the
   * agent's texts to the caller have) it is refused and counted: a caller sending 60 kB texts to an
   * agent that did not read grew the node by 400 MB in 10 s. "not-sent": no socket open, or the
   * protocol has no message for it (Twilio).
   */
  callerText(text: string): "sent" | "refused" | "not-sent" {
    if (text.length > MAX_MESSAGE_CHARS) {
      this.#s.callerTextsRefused++;
      if (this.#s.callerTextsRefused === 1)
        this.#o.log.warn(
          { event: "bridge_caller_text_refused", chars: text.length, maxChars: MAX_MESSAGE_CHARS },
          "the caller's datachannel text is too long for the agent; refused",
        );
      return "refused";
    }
    return this.notify({ type: "message", data: text }) ? "sent" : "not-sent";
  }

  /** tell the agent something (a mark answered, a digit, a datachannel text, …); dropped unless open */
  notify(e: NodeEvent): boolean {
    if (e.type === "mark") this.#s.marksAnswered++;
    if (this.#state !== "open") return false;
    const m = this.#p.event(e);
    if (m === undefined) return false;
    this.#send(m);
    return true;
  }

  /** the session ended: say stop and close normally (1000); a socket still connecting is dropped */
  close(reason: string): void {
    if (this.#state === "closed") return;
    this.#finish(reason, false);
    const ws = this.#ws;
    try {
      if (ws?.readyState === WebSocket.OPEN) {
        ws.send(this.#p.stop(reason));
        ws.close(1000, closeReason(reason)); // RFC 6455 §5.5: control payloads ≤ 125 bytes
      } else ws?.terminate();
    } catch (err) {
      // the session's teardown must not fail because of the application's socket
      this.#o.log.warn({ event: "bridge_close_failed", err: (err as Error).message }, "bridge close failed");
    }
  }

  stats(): BridgeLegStats {
    return {
      state: this.#state,
      failed: this.#failed,
      protocol: this.#p.name,
      rate: this.#p.rate,
      ...this.#s,
      ...(this.#endReason ? { endReason: this.#endReason } : {}),
    };
  }

  #dial(): void {
    const url = this.#o.url;
    this.#attempt++;
    const ws = new WebSocket(url, {
      // covers the TCP connect and the HTTP upgrade
      handshakeTimeout: this.#openTimeoutMs,
      // a redirect would dial a host the allow-list never saw
      followRedirects: false,
      maxPayload: BRIDGE_MAX_MESSAGE_BYTES,
      perMessageDeflate: false, // audio does not compress; deflate would only cost CPU
      headers: this.#o.secret
        ? { ...signatureHeaders(this.#o.secret, url), ...this.#p.signedDialHeaders?.(this.#o.secret, url) }
        : {},
    });
    this.#ws = ws;
    ws.binaryType = "nodebuffer";
    ws.on("open", () => this.#opened(ws));
    ws.on("message", (data, isBinary) => this.#message(ws, data as Buffer, isBinary));
    ws.on("error", (err) => this.#lost(ws, "error", err.message, undefined, (err as { code?: string }).code));
    ws.on("close", (code, reason) => this.#lost(ws, "closed", `${code} ${reason.toString()}`.trim(), code));
  }

  #opened(ws: WebSocket): void {
    if (ws !== this.#ws || this.#state === "closed") return;
    const resumed = this.#everOpen;
    this.#everOpen = true;
    this.#state = "open";
    this.#openedAt = Date.now();
    // the outage (and the backoff) goes on until this socket has stayed open: see BRIDGE_STABLE_MS
    clearTimeout(this.#stableTimer);
    this.#stableTimer = setTimeout(() => this.#stable(ws), this.#stableMs);
    this.#stableTimer.unref();
    const call: CallInfo = {
      sessionId: this.#o.sessionId,
      streamId: this.#streamId,
      rate: this.#p.rate,
      params: this.#o.params ?? {},
      resumed,
      sendsBack: this.#o.sendsBack ?? true,
    };
    for (const m of this.#p.opening(call)) this.#send(m);
    if (resumed) {
      const gapMs = Date.now() - this.#gapStartedAt;
      this.#s.reconnects++;
      // once per outage at info; an agent that keeps dropping would log a line per dial
      this.#o.log[this.#outageDrops > 1 ? "debug" : "info"](
        { event: "bridge_back", gapMs, gapFrames: this.#s.gapFrames, outageDrops: this.#outageDrops },
        "bridge socket back",
      );
      this.#o.onLeg?.({ type: "back", gapMs });
    } else {
      const early = this.#early;
      this.#early = [];
      for (const f of early) this.#sendAudio(this.#p.audio(f.samples, f.ms));
      this.#o.log.info(
        { event: "bridge_open", url: redact(this.#o.url), protocol: this.#p.name, earlyFrames: early.length },
        "bridge socket open",
      );
    }
  }

  /** the socket stayed open BRIDGE_STABLE_MS: the outage is over, a later drop starts a new one */
  #stable(ws: WebSocket): void {
    this.#stableTimer = undefined;
    if (ws !== this.#ws || this.#state !== "open") return;
    if (this.#outageDrops > 1)
      this.#o.log.info(
        { event: "bridge_stable", outageMs: Date.now() - this.#outageSince!, outageDrops: this.#outageDrops },
        "bridge socket stayed open; the outage is over",
      );
    this.#outageSince = undefined;
    this.#outageDrops = 0;
    this.#outageLogged = false;
    this.#attempt = 0;
  }

  #message(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    if (ws !== this.#ws || this.#state !== "open") return;
    let c: AgentCommand;
    try {
      c = this.#p.parse(data, isBinary);
    } catch (err) {
      // the application's message must never throw into the socket's event handler
      c = { type: "error", what: `message handling failed: ${(err as Error).message}` };
    }
    if (c.type === "none") return;
    let refused: string | undefined = c.type === "error" ? c.what : undefined;
    try {
      refused ??= this.#o.refuse?.(c);
    } catch (err) {
      refused = `message handling failed: ${(err as Error).message}`;
    }
    if (refused !== undefined) {
      this.#protocolError(refused);
      return;
    }
    switch (c.type) {
      case "audio":
        this.#s.audioIn++;
        this.#s.audioInBytes += data.length;
        break;
      case "clear":
        this.#s.clears++;
        break;
      case "mark":
        this.#s.marks++;
        break;
      case "hangup":
        // the agent ends the call: the close that follows is not a drop
        this.#finish(c.reason ? `hangup: ${c.reason}` : "hangup", false);
        try {
          ws.close(1000, "hangup");
        } catch {}
        break;
    }
    try {
      this.#o.onCommand(c);
    } catch (err) {
      this.#o.log.warn(
        { event: "bridge_command_failed", command: c.type, err: (err as Error).message },
        "bridge command failed",
      );
    }
    if (c.type === "hangup") this.#o.onLeg?.({ type: "ended", reason: this.#endReason!, failed: false });
  }

  #lost(ws: WebSocket, kind: "error" | "closed", detail: string, code?: number, errCode?: string): void {
    if (ws !== this.#ws) return;
    if (kind === "error") ws.terminate(); // a close event follows; it finds the redial scheduled
    // ws' receiver found the agent's frames broken (WS_ERR_*: a message over maxPayload — ws closes
    // with 1009 —, bad UTF-8 in a text, a masked frame, …): the agent's protocol error, then a drop.
    // Only an open socket's: the dial's own errors (refused, 403, timeout) are not the agent's frames
    if (errCode?.startsWith("WS_ERR_") && this.#state === "open")
      this.#protocolError(
        errCode === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"
          ? `a message over ${BRIDGE_MAX_MESSAGE_BYTES} bytes (closed 1009)`
          : `a broken WebSocket frame: ${detail}`,
      );
    // ended, or this socket's loss already handled (an error, then its close). A redial that
    // fails while reconnecting is retried like any other: it used to return here and leave the
    // call reconnecting for ever, with no retry and no end (an agent refusing for a moment)
    if (this.#state === "closed" || this.#retryTimer) return;
    const wasOpen = this.#state === "open";
    if (this.#stableTimer) clearTimeout(this.#stableTimer);
    this.#stableTimer = undefined;
    if (wasOpen && code !== undefined && this.#p.closeEndsCall(code)) {
      this.#o.log.info(
        { event: "bridge_ended_by_agent", code },
        "the agent closed its stream; ending the call",
      );
      this.#finish(`the agent closed the socket (${detail})`, false);
      this.#o.onLeg?.({ type: "ended", reason: this.#endReason!, failed: false });
      return;
    }
    const now = Date.now();
    // a socket open BRIDGE_STABLE_MS was stable even if its timer has not run: on a busy event
    // loop the drop can come in the same turn as the timer's due time (an agent's flood of marks
    // closed for not reading). Without this, the drop fell in the first outage, whose window
    // counts from the session's start, and the call ended without one redial.
    if (wasOpen && this.#outageSince !== undefined && now - this.#openedAt >= this.#stableMs)
      this.#stable(ws);
    if (wasOpen) {
      this.#outageSince ??= now; // a drop after a stable socket begins an outage; within one, it goes on
      this.#outageDrops++;
    }
    // the outage's first loss says what happened; later ones (one per dial) only at debug
    this.#o.log[this.#outageLogged ? "debug" : "warn"](
      {
        event: "bridge_lost",
        kind,
        detail,
        url: redact(this.#o.url),
        wasOpen,
        outageDrops: this.#outageDrops,
      },
      wasOpen ? "bridge socket dropped; redialing" : "bridge dial failed; redialing",
    );
    this.#outageLogged = true;
    if (wasOpen || !this.#everOpen) {
      if (wasOpen) {
        this.#gapStartedAt = now;
        this.#o.onLeg?.({ type: "gone" });
      }
      // the first dial has the reconnect window too, from the session's start
      this.#state = wasOpen ? "reconnecting" : "connecting";
    }
    this.#retry();
  }

  #retry(): void {
    // the window counts from the outage's start (the session's start for the first dial), not
    // from this drop: an agent that accepts and closes again is out of the call all along
    const left = (this.#outageSince ?? Date.now()) + this.#reconnectMs - Date.now();
    if (left <= 0) {
      const window = `${Math.round(this.#reconnectMs / 100) / 10} s`;
      const reason = !this.#everOpen
        ? `the agent's socket could not be opened within ${window}`
        : this.#outageDrops > 1
          ? `the agent's socket dropped ${this.#outageDrops} times and did not stay open within ${window}`
          : `the agent's socket dropped and could not be redialed within ${window}`;
      this.#o.log.warn(
        { event: "bridge_failed", reason, url: redact(this.#o.url), outageDrops: this.#outageDrops },
        "bridge given up; ending the call",
      );
      this.#finish(reason, true);
      this.#o.onLeg?.({ type: "ended", reason, failed: true });
      return;
    }
    const delay = Math.min(left, BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.max(0, this.#attempt - 1));
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#state !== "closed") this.#dial();
    }, delay);
  }

  #finish(reason: string, failed: boolean): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#failed = failed;
    this.#endReason = reason;
    this.#early = [];
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    if (this.#stableTimer) clearTimeout(this.#stableTimer);
    this.#stableTimer = undefined;
    if (failed) this.#ws?.terminate();
    // the session's bridge figures, once, where the session's other end-of-call lines are
    this.#o.log.info({ event: "bridge_closed", ...this.stats() }, "bridge leg ended");
  }

  #sendAudio(m: WireMessage): void {
    const ws = this.#ws!;
    // backpressure: never let unsent audio grow without bound in the socket's buffer
    if (ws.bufferedAmount > this.#maxBufferedBytes) {
      this.#s.framesDropped++;
      if (!this.#dropping) {
        this.#dropping = true;
        this.#o.log.warn(
          { event: "bridge_backpressure", bufferedBytes: ws.bufferedAmount },
          "bridge application is not reading; dropping frames",
        );
      }
      return;
    }
    this.#dropping = false;
    this.#send(m);
    this.#s.framesSent++;
  }

  /** every message to the agent goes here: none is written once the agent has not read
   *  BRIDGE_MAX_UNREAD_BYTES (only the audio had a bound; texts, marks and `played` had none) */
  #send(m: WireMessage): void {
    const ws = this.#ws!;
    if (ws === this.#closingUnread) return;
    if (ws.bufferedAmount > this.#maxUnreadBytes) {
      this.#notReading(ws);
      return;
    }
    try {
      ws.send(m, { binary: typeof m !== "string" });
    } catch (err) {
      this.#o.log.debug({ err: (err as Error).message }, "bridge send failed");
    }
  }

  /** the agent has not read BRIDGE_MAX_UNREAD_BYTES: close its socket, then the usual drop and redial */
  #notReading(ws: WebSocket): void {
    if (ws !== this.#ws || this.#state !== "open") return;
    this.#closingUnread = ws;
    const unread = ws.bufferedAmount;
    this.#s.closedNotReading++;
    this.#o.log.warn(
      { event: "bridge_not_reading", bufferedBytes: unread, maxUnreadBytes: this.#maxUnreadBytes },
      "the agent is not reading its socket; closing it",
    );
    try {
      ws.close(BRIDGE_NOT_READING_CLOSE, `not reading: ${unread} bytes unread`);
    } catch {}
    // the close frame is queued behind the unread bytes: an agent that was only stalled may still
    // read why; then the socket and its buffer go (ws would wait 30 s for the close handshake)
    setTimeout(() => ws.terminate(), NOT_READING_GRACE_MS).unref();
    // a drop once the current stack is done: this runs inside a send — the pacer's tick answering a
    // mark, a caller's text — and the drop clears the agent's queued audio and its marks
    queueMicrotask(() => this.#lost(ws, "closed", `closed by the node: ${unread} bytes unread`));
  }

  #protocolError(what: string): void {
    this.#s.protocolErrors++;
    // the first one says what is wrong; later ones only count (a broken app could flood the log)
    if (this.#s.protocolErrors === 1)
      this.#o.log.warn({ event: "bridge_protocol_error", what }, "bridge application broke the protocol");
  }
}

/** a URL for the log: no query string (it may carry the application's token) */
function redact(url: string): string {
  const i = url.search(/[?#]/);
  return i < 0 ? url : `${url.slice(0, i)}?…`;
}

/** a close reason within RFC 6455's 123 bytes (125 less the code), cut on a character boundary:
 *  a reason of multi-byte characters cut at 120 characters would make ws.close() throw */
export function closeReason(reason: string): string {
  const bytes = Buffer.from(reason, "utf8");
  if (bytes.length <= 123) return reason;
  let end = 123;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // not inside a UTF-8 sequence
  return bytes.subarray(0, end).toString("utf8");
}
