// One bridged call, node side: the media session (src/media/profiles/bridge.ts) on one end, the
// agent's socket (app-socket.ts) on the other, and the caller's datachannel and keypad beside.
// Caller frames go to the agent as they are cut; the agent's commands act on the media (audio
// queued, marks answered when their audio has left as RTP, clear, hangup); the agent's playback
// position goes back every second; a dropped agent silences the caller's audio and tells a caller
// with a datachannel, and an agent that never comes back ends the call.
import type { BridgeLegStats, BridgeProtocolName } from "../../control/contract.js";
import type { Logger } from "../../log/index.js";
import type { BridgeSession } from "../../media/index.js";
import { AppSocket } from "./app-socket.js";
import { createProtocol } from "./index.js";
import type { AgentCommand, NodeEvent } from "./protocol.js";

/** how often the agent is told how much of its audio has played (rtcgw protocol) */
export const PLAYED_EVERY_MS = 1000;

/** what the node hands a bridged session (besides its media) */
export interface BridgeContext {
  /** the allow-listed, normalized URL */
  url: string;
  protocol: BridgeProtocolName;
  /** the agent's PCM rate (rtcgw; twilio is always 8000) */
  rate: number;
  params: Record<string, string>;
  /** RTCGW_BRIDGE_SECRET: dials are signed with it */
  secret?: string;
  reconnectMs?: number;
  openTimeoutMs?: number;
  /** end the whole call (the agent hung up, or is gone for good) */
  end: (reason: string) => void;
  /** one text to the caller's datachannel(s); false when the caller has none open */
  sendText: (text: string) => boolean;
}

export class AgentBridge {
  readonly socket: AppSocket;
  readonly #media: BridgeSession;
  readonly #ctx: BridgeContext;
  readonly #log: Logger;
  readonly #played: NodeJS.Timeout | undefined;
  /** bumped when the socket drops: marks of the old socket are not answered on the new one */
  #generation = 0;
  #closed = false;

  constructor(
    media: BridgeSession,
    ctx: BridgeContext,
    o: { sessionId: string; sendsBack: boolean; log: Logger },
  ) {
    this.#media = media;
    this.#ctx = ctx;
    this.#log = o.log;
    const protocol = createProtocol(ctx.protocol, { rate: ctx.rate });
    this.socket = new AppSocket({
      url: ctx.url,
      sessionId: o.sessionId,
      protocol,
      params: ctx.params,
      sendsBack: o.sendsBack,
      log: o.log,
      ...(ctx.secret ? { secret: ctx.secret } : {}),
      ...(ctx.reconnectMs !== undefined ? { reconnectMs: ctx.reconnectMs } : {}),
      ...(ctx.openTimeoutMs !== undefined ? { openTimeoutMs: ctx.openTimeoutMs } : {}),
      onCommand: (c) => this.#command(c),
      onLeg: (e) => {
        if (e.type === "gone") {
          // the caller hears silence until the agent is back; its queued speech is not for later
          this.#generation++;
          this.#media.clear();
          this.#tellCaller({ type: "rtcgw.agent", state: "gone" });
        } else if (e.type === "back")
          this.#tellCaller({ type: "rtcgw.agent", state: "back", gapMs: e.gapMs });
        else this.#ctx.end(e.reason);
      },
    });
    this.#played =
      protocol.event({ type: "played", ms: 0 }) !== undefined
        ? setInterval(
            () => this.socket.notify({ type: "played", ms: Math.round(this.#media.playedMs) }),
            PLAYED_EVERY_MS,
          )
        : undefined;
    this.#played?.unref();
  }

  /** one 20 ms frame of the caller, from the media session's framer (pts in samples at the rate) */
  onCallerFrame(samples: Int16Array, pts: number): void {
    this.socket.sendFrame(samples, (pts * 1000) / this.#media.rate);
  }

  /** the caller's datachannel text, for the agent */
  onCallerText(text: string): void {
    this.socket.notify({ type: "message", data: text });
  }

  /** a key the caller pressed (RFC 4733), for the agent */
  onCallerDigit(digit: string, durationMs: number): void {
    this.socket.notify({ type: "dtmf", digit, durationMs });
  }

  /** tell the agent about an event of the call (e.g. call resume's `resumed`); false if it cannot be said */
  notify(e: NodeEvent): boolean {
    return this.socket.notify(e);
  }

  stats(): BridgeLegStats {
    return this.socket.stats();
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#played) clearInterval(this.#played);
    this.socket.close(reason);
  }

  #command(c: AgentCommand): void {
    switch (c.type) {
      case "audio":
        this.#media.pushPcm(c.samples);
        return;
      case "mark": {
        const generation = this.#generation;
        this.#media.mark(() => {
          if (generation === this.#generation) this.socket.notify({ type: "mark", name: c.name });
        });
        return;
      }
      case "clear":
        this.#media.clear();
        return;
      case "hangup":
        return; // the socket reports the leg ended; the session ends from there
      case "message":
        if (!this.#ctx.sendText(c.data))
          this.#log.debug({ event: "bridge_text_dropped" }, "the caller has no datachannel open");
        return;
    }
  }

  #tellCaller(notice: Record<string, unknown>): void {
    this.#ctx.sendText(JSON.stringify(notice));
  }
}
