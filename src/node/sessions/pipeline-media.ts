// The pipeline's profile assemblies (src/media) behind the node's SessionMedia face: RTP in with
// its arrival time, the shared 20 ms ticker driving the receive timeline, stats under the names
// the control API reports, and close() at the call's true end (so a recording's length is the
// call's length).
import { codecSpecFromRtpmap } from "../../audio/codecs/factory.js";
import {
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
import { BridgeSocket } from "../bridge/app-socket.js";
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
    /** the bridge's WebSocket, closed with the session */
    readonly bridgeSocket?: BridgeSocket,
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
      ...(this.bridgeSocket ? { bridge: this.bridgeSocket.stats() } : {}),
    };
  }

  async close() {
    if (this.closed) return undefined;
    this.closed = true;
    this.unsubscribe();
    const r = this.assembly.close(Date.now());
    this.bridgeSocket?.close("session ended");
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
  if (ctx.profile === "bridge" && ctx.bridgeUrl) return createBridgeMedia(ctx, codec, ctx.bridgeUrl);
  // bridge without a URL (or echo on a receive-only WHIP): decode and repair so WHEP listeners can hear it;
  // "blackhole" skips decoding altogether (the transport-only floor of the benchmark)
  if (ctx.profile !== "blackhole") return new PipelineMedia(await createIngestSession({ codec }), ctx);
  return undefined;
}

/**
 * The bridge: caller audio → 20 ms frames → the application's WebSocket; its audio → the caller.
 * The socket dials in the background: the session is answered whether or not it ever opens.
 */
async function createBridgeMedia(ctx: MediaContext, codec: CodecSpec, url: string): Promise<PipelineMedia> {
  let socket: BridgeSocket | undefined;
  const bridge = await createBridgeSession({
    codec,
    ...(ctx.send && ctx.ssrc !== undefined ? { send: ctx.send, ssrc: ctx.ssrc } : {}),
    log: ctx.log,
    onPcm: (samples) => socket?.sendFrame(samples),
  });
  socket = new BridgeSocket({
    url,
    sessionId: ctx.sessionId,
    log: ctx.log,
    onAudio: (samples) => bridge.pushPcm(samples),
    onClear: () => bridge.clear(),
  });
  return new PipelineMedia(bridge, ctx, socket);
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
