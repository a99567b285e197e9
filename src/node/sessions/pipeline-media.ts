// The pipeline's profile assemblies (src/media) behind the node's SessionMedia face: RTP in with
// its arrival time, the shared 20 ms ticker driving the receive timeline, stats under the names
// the control API reports, and close() at the call's true end (so a recording's length is the
// call's length).
import { codecSpecFromRtpmap } from "../../audio/codecs/factory.js";
import {
  type BridgeRate,
  type BridgeSession,
  type CodecSpec,
  createBridgeSession,
  createEchoSession,
  createIngestSession,
  createRecordSession,
  type EchoSession,
  type InboundAudio,
  type IngestSession,
  listen,
  type RecordSession,
} from "../../media/index.js";
import { AgentBridge, type BridgeContext } from "../bridge/agent-bridge.js";
import type { NegotiatedCodec } from "./offer.js";
import type { MediaContext, SessionMedia, SessionMediaStats } from "./session-media.js";

type Assembly = EchoSession | RecordSession | IngestSession | BridgeSession;

export function codecSpecOf(c: NegotiatedCodec): CodecSpec {
  return codecSpecFromRtpmap(
    {
      payload: c.payloadType,
      codec: c.name,
      rate: c.clockRate,
      ...(c.name === "opus" ? { encoding: 2 } : {}),
    },
    c.fmtp,
  );
}

export class PipelineMedia implements SessionMedia {
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    readonly assembly: Assembly,
    ctx: MediaContext,
    /** the bridge's agent leg, closed with the session */
    readonly agent?: AgentBridge,
  ) {
    this.unsubscribe = ctx.ticker.subscribe((now) => {
      try {
        assembly.tick(now);
      } catch (e) {
        ctx.log.error({ err: (e as Error).message }, "pipeline tick failed");
      }
    });
  }

  /** the session's decoded, repaired incoming audio (WHEP listeners subscribe here) */
  get inbound(): InboundAudio {
    return this.assembly.inbound;
  }

  onRtp(packet: Buffer): void {
    this.assembly.pushRtp(packet, Date.now());
  }

  stats(): SessionMediaStats {
    const s = this.assembly.stats();
    return {
      lost: s.lost,
      late: s.late,
      duplicates: s.duplicates,
      reordered: s.reordered,
      concealedMs: s.concealedMs,
      silenceFilledMs: s.silenceFilledMs,
      ...(this.agent ? { bridge: this.agent.stats() } : {}),
    };
  }

  /** a bridged call's datachannel text goes to the agent (other profiles have no onText: echoed) */
  get onText(): ((text: string) => void) | undefined {
    const agent = this.agent;
    return agent ? (text) => agent.onCallerText(text) : undefined;
  }

  async close() {
    if (this.closed) return undefined;
    this.closed = true;
    this.unsubscribe();
    const r = this.assembly.close(Date.now());
    this.agent?.close("session ended");
    return r ?? undefined;
  }
}

export async function createPipelineMedia(ctx: MediaContext): Promise<PipelineMedia | undefined> {
  const codec = codecSpecOf(ctx.codec);
  if (ctx.profile === "echo" && ctx.send && ctx.ssrc !== undefined) {
    const echo = await createEchoSession({
      codec,
      ssrc: ctx.ssrc,
      send: ctx.send,
      log: ctx.log,
      ...(ctx.echoComplexity !== undefined ? { encoderComplexity: ctx.echoComplexity } : {}),
    });
    return new PipelineMedia(echo, ctx);
  }
  if (ctx.profile === "record") {
    const rate = (ctx.recordRate ?? 48000) as 8000 | 16000 | 24000 | 48000;
    const rec = await createRecordSession({
      sessionId: ctx.sessionId,
      dir: ctx.recordingsDir,
      codec,
      rate,
      log: ctx.log,
    });
    return new PipelineMedia(rec, ctx);
  }
  if (ctx.profile === "bridge" && ctx.bridge) return createBridgeMedia(ctx, codec, ctx.bridge);
  // bridge without a URL (or echo on a receive-only WHIP): decode and repair so WHEP listeners can hear it;
  // "blackhole" skips decoding altogether (the transport-only floor of the benchmark)
  if (ctx.profile !== "blackhole") return new PipelineMedia(await createIngestSession({ codec }), ctx);
  return undefined;
}

/**
 * The bridge: caller audio → 20 ms frames at the agent's rate → the agent's WebSocket, in the
 * session's protocol; its audio → the caller. The socket dials in the background: the session is
 * answered at once, the caller's first words wait for the socket (src/node/bridge/).
 */
async function createBridgeMedia(
  ctx: MediaContext,
  codec: CodecSpec,
  b: BridgeContext,
): Promise<PipelineMedia> {
  let agent: AgentBridge | undefined;
  const bridge = await createBridgeSession({
    codec,
    rate: (b.protocol === "twilio" ? 8000 : b.rate) as BridgeRate,
    ...(ctx.send && ctx.ssrc !== undefined ? { send: ctx.send, ssrc: ctx.ssrc } : {}),
    log: ctx.log,
    onPcm: (samples, pts) => agent?.onCallerFrame(samples, pts),
  });
  agent = new AgentBridge(bridge, b, { sessionId: ctx.sessionId, sendsBack: !!ctx.send, log: ctx.log });
  return new PipelineMedia(bridge, ctx, agent);
}

/** A WHEP listener fed from its source's relay: decoded audio re-encoded for this listener. */
export function listenTo(source: PipelineMedia, ctx: MediaContext): () => void {
  const l = listen(source.inbound, {
    codec: codecSpecOf(ctx.codec),
    ssrc: ctx.ssrc!,
    send: ctx.send!,
    name: `whep-${ctx.sessionId}`,
  });
  return () => l.stop();
}
