// One bridged call, node side: the pipeline's bridge session (src/media/profiles/bridge.ts)
// connects itself here as the AppLink's peer; on the other side the agent's socket
// (app-socket.ts), and the caller's datachannel and keypad beside. Caller frames go to the agent
// as they are cut; the agent's commands act on the media (audio queued, marks answered when their
// audio has left as RTP, clear, hangup); the agent's playback position goes back every second; a
// dropped agent silences the caller and tells a caller with a datachannel; an agent that never
// comes back ends the call.
import type { BridgeLegStats, BridgeProtocolName } from "../../control/contract.js";
import type { Logger } from "../../log/index.js";
import type { AppAudioPeer, AppLink, BridgeRate } from "../../media/index.js";
import { AppSocket } from "./app-socket.js";
import { createProtocol } from "./index.js";
import type { AgentCommand, NodeEvent } from "./protocol.js";
import { MAX_MESSAGE_CHARS } from "./rtcgw.js";

/** how often the agent is told how much of its audio has played (rtcgw protocol) */
export const PLAYED_EVERY_MS = 1000;

/**
 * Marks of one call waiting for their audio to play (or for their answer); one more is refused
 * (the agent's protocol error, not queued, never answered): the bound on what an agent that
 * floods marks costs (400 000 uncapped ones stalled the whole node for 4.5 s). Per protocol
 * (BridgeProtocol.maxPendingMarks): the rtcgw protocol's is 1000, one per 20 ms frame of its 20 s
 * queue (BRIDGE_OUT_BUFFER_MS); Twilio's (TWILIO_MAX_PENDING_MARKS) is larger, as its queue is.
 * Due marks are answered at most MARK_ANSWERS_PER_TICK a tick (pcm-out.ts), so a clear of
 * thousands does not stall the node's shared tick.
 */
export { MAX_PENDING_MARKS } from "./rtcgw.js";

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
  /** end the whole call: the agent hung up, or is gone for good */
  end: (reason: string, by: "agent-hangup" | "agent-gone") => void;
  /** one text to the caller's datachannel(s); false when the caller has none open */
  sendText: (text: string) => boolean;
}

export class AgentBridge implements AppLink {
  readonly socket: AppSocket;
  readonly rate: BridgeRate;
  readonly bufferMs: number;
  readonly #ctx: BridgeContext;
  readonly #log: Logger;
  readonly #played: NodeJS.Timeout | undefined;
  #peer: AppAudioPeer | undefined;
  /** bumped when the socket drops: marks of the old socket are not answered on the new one */
  #generation = 0;
  #closed = false;

  constructor(ctx: BridgeContext, o: { sessionId: string; sendsBack: boolean; log: Logger }) {
    this.#ctx = ctx;
    this.#log = o.log;
    const protocol = createProtocol(ctx.protocol, { rate: ctx.rate });
    this.rate = protocol.rate as BridgeRate;
    this.bufferMs = protocol.bufferMs;
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
      refuse: (c) =>
        c.type === "mark" && (this.#peer?.pendingMarks ?? 0) >= protocol.maxPendingMarks
          ? `a mark beyond ${protocol.maxPendingMarks} pending (refused, not answered)`
          : undefined,
      onLeg: (e) => {
        if (e.type === "gone") {
          // the caller hears silence until the agent is back; its queued speech is not for later
          this.#generation++;
          this.#peer?.clear();
          this.#tellCaller({ type: "rtcgw.agent", state: "gone" });
        } else if (e.type === "back")
          this.#tellCaller({ type: "rtcgw.agent", state: "back", gapMs: e.gapMs });
        else this.#ctx.end(e.reason, e.failed ? "agent-gone" : "agent-hangup");
      },
    });
    this.#played =
      protocol.event({ type: "played", ms: 0 }) !== undefined
        ? setInterval(() => {
            if (this.#peer) this.socket.notify({ type: "played", ms: Math.round(this.#peer.playedMs) });
          }, PLAYED_EVERY_MS)
        : undefined;
    this.#played?.unref();
  }

  /** the pipeline's bridge session: the agent's audio and commands act on it from now on */
  connect(peer: AppAudioPeer): void {
    this.#peer = peer;
  }

  /** one 20 ms frame of the caller (pts in samples at the rate), straight to the socket */
  sendFrame(samples: Int16Array, pts: number): void {
    this.socket.sendFrame(samples, (pts * 1000) / this.rate);
  }

  /** the caller's datachannel text, for the agent; one too long is refused and the caller told */
  onCallerText(text: string): void {
    if (this.socket.callerText(text) === "refused")
      this.#tellCaller({
        type: "rtcgw.text-refused",
        reason: "too-long",
        chars: text.length,
        maxChars: MAX_MESSAGE_CHARS,
      });
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
    const peer = this.#peer;
    switch (c.type) {
      case "audio":
        peer?.pushPcm(c.samples);
        return;
      case "mark": {
        const generation = this.#generation;
        const answer = () => {
          if (generation === this.#generation) this.socket.notify({ type: "mark", name: c.name });
        };
        if (peer) peer.mark(answer);
        else answer();
        return;
      }
      case "clear":
        peer?.clear();
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
