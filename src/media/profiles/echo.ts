// The `echo` profile: decode → repair (receive timeline) → resample to 16 kHz mono → back up to
// the codec rate → encode → packetize → send. The receive timeline's clock paces the output:
// one packet per 20 ms tick, so echo needs no timer of its own.
import type { CodecSpec } from "../../audio/codecs/types.js";
import { loadResampler } from "../../audio/resampler/index.js";
import type { Logger } from "../../log/index.js";
import type { PlayoutDelayOptions } from "../receive/playout-delay.js";
import { ResampleStage } from "../resample-stage.js";
import { AudioSender, type PacketSink } from "../send/audio-sender.js";
import { InboundAudio, STALE_FRAME_MS } from "./inbound.js";
import { type PipelineStats, receiverStats } from "./stats.js";

/**
 * The echo's encoder complexity. `npm run bench opus-complexity` on real speech: complexity 1
 * encodes in about half the CPU of 3 (0.19× vs 0.40× of complexity 10) for 1.5 dB less
 * segmental SNR; the echo is the user hearing themselves back, and the encoder is most of its
 * CPU, so the node holds about twice the echo sessions. Raise it per node with
 * RTCGW_ECHO_COMPLEXITY.
 */
export const ECHO_OPUS_COMPLEXITY = 1;

export interface EchoSessionOptions {
  /** the negotiated codec (both directions use it) */
  codec: CodecSpec;
  /** the peer's outgoing track: where the echo's RTP goes, under its SSRC */
  out: PacketSink;
  /** the intermediate rate the audio passes through (default 16000) */
  midRate?: 8000 | 16000 | 24000 | 32000 | 44100 | 48000;
  startMs?: number;
  jitter?: PlayoutDelayOptions;
  /** Opus encoder complexity 0..10 (default ECHO_OPUS_COMPLEXITY; the encoder dominates echo CPU) */
  encoderComplexity?: number;
  log?: Logger;
}

export class EchoSession {
  readonly profile = "echo";
  readonly inbound: InboundAudio;
  readonly sender: AudioSender;
  readonly #up: ResampleStage;
  readonly #sub: ReturnType<InboundAudio["subscribe"]>;
  readonly #log: Logger | undefined;
  #closed = false;

  constructor(o: EchoSessionOptions) {
    const midRate = o.midRate ?? 16000;
    this.#log = o.log;
    this.inbound = new InboundAudio({
      codec: o.codec,
      rate: midRate,
      startMs: o.startMs,
      jitter: o.jitter,
    });
    this.sender = new AudioSender({
      codec: o.codec,
      out: o.out,
      channels: 1,
      staleAfterMs: STALE_FRAME_MS,
      complexity: o.encoderComplexity ?? ECHO_OPUS_COMPLEXITY,
    });
    this.#up = new ResampleStage({
      inRate: midRate,
      inChannels: 1,
      outRate: o.codec.clockRate,
      outChannels: 1,
      next: this.sender,
    });
    // down to midRate mono (downmix if the codec decodes stereo), then up again
    this.#sub = this.inbound.subscribe(this.#up, { rate: midRate, channels: 1, name: "echo" });
    o.log?.debug({ event: "echo_started", midRate, payloadType: o.codec.payloadType }, "echo");
  }

  pushRtp(packet: Uint8Array, arrivalMs: number): void {
    this.inbound.pushRtp(packet, arrivalMs);
  }

  tick(nowMs: number): void {
    this.inbound.tick(nowMs);
  }

  close(nowMs: number): undefined {
    if (this.#closed) return;
    this.#closed = true;
    this.inbound.close(nowMs); // onEnd runs down the chain: resampler tails, encoder freed
    this.#sub.stop();
    this.#up.destroy();
    this.sender.close();
    const c = this.inbound.counters();
    this.#log?.debug(
      {
        event: "echo_closed",
        timelineMs: c.frames * 20,
        sent: this.sender.stats().packets,
        concealedMs: c.concealedMs,
      },
      "echo closed",
    );
  }

  stats(): PipelineStats {
    return {
      ...receiverStats(this.profile, this.inbound),
      sender: this.sender.stats(),
    };
  }
}

export async function createEchoSession(o: EchoSessionOptions): Promise<EchoSession> {
  await loadResampler();
  return new EchoSession(o);
}
