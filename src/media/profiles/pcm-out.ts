// Application audio to a peer: PCM pushed at any supported rate → PcmPushSource (48 kHz FIFO,
// one frame per 20 ms on its pacer) → AudioSender (encode, packetize, DTX on silence) → the PacketSink.
// What a PCM bridge or a TTS player uses for the "audio back" direction.
import type { CodecSpec } from "../../audio/codecs/types.js";
import { loadResampler } from "../../audio/resampler/index.js";
import type { SampleRate } from "../../audio/resampler/types.js";
import type { Clock } from "../clock.js";
import { AudioSender, type AudioSenderStats, type PacketSink } from "../send/audio-sender.js";
import { PcmPushSource, type PcmPushStats } from "../sources/pcm-push.js";

export interface PcmOutOptions {
  codec: CodecSpec;
  /** the peer's outgoing track */
  out: PacketSink;
  /** skip silence when the application has nothing queued (default true) */
  dtx?: boolean;
  maxBufferMs?: number;
  clock?: Clock;
}

export class PcmOut {
  readonly source: PcmPushSource;
  readonly sender: AudioSender;
  readonly #unsubscribe: () => void;

  constructor(o: PcmOutOptions) {
    this.source = new PcmPushSource({
      rate: o.codec.clockRate as SampleRate,
      channels: 1,
      maxBufferMs: o.maxBufferMs,
      clock: o.clock,
    });
    this.sender = new AudioSender({
      codec: o.codec,
      out: o.out,
      channels: 1,
      dtx: o.dtx ?? true,
    });
    this.#unsubscribe = this.source.subscribe(this.sender); // starts the pacer
  }

  /** queue interleaved PCM (8–48 kHz, mono or stereo) */
  push(samples: Int16Array, rate: number, channels: 1 | 2): void {
    this.source.push(samples, rate, channels);
  }

  /** drop queued audio (barge-in) */
  clear(): void {
    this.source.clear();
  }

  close(): void {
    this.#unsubscribe();
    this.source.end("closed");
    this.sender.close();
  }

  stats(): { source: PcmPushStats; sender: AudioSenderStats } {
    return { source: this.source.stats(), sender: this.sender.stats() };
  }
}

export async function createPcmOut(o: PcmOutOptions): Promise<PcmOut> {
  await loadResampler();
  return new PcmOut(o);
}
