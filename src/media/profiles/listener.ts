// A WHEP listener: subscribes to a session's incoming audio through the relay, resamples to the
// listener's codec rate, encodes, packetizes, sends. Stopping it (or the last listener) never
// affects the session; the relay's bounded queue keeps one stuck listener from stalling others.
import type { CodecSpec } from "../../audio/codecs/types.js";
import type { RelayConsumerStats } from "../relay.js";
import { AudioSender, type AudioSenderStats, type PacketSink } from "../send/audio-sender.js";
import { type InboundAudio, STALE_FRAME_MS } from "./inbound.js";

export interface ListenerOptions {
  /** the listener's negotiated codec */
  codec: CodecSpec;
  /** the listener's outgoing track */
  out: PacketSink;
  /** skip digital silence (DTX) instead of sending it (default true) */
  dtx?: boolean;
  /** Opus encoder complexity 0..10 (default VOICE_OPUS_COMPLEXITY) */
  encoderComplexity?: number;
  name?: string;
}

export interface Listener {
  stop(): void;
  readonly stopped: boolean;
  stats(): { relay: RelayConsumerStats; sender: AudioSenderStats };
}

export function listen(source: InboundAudio, o: ListenerOptions): Listener {
  const sender = new AudioSender({
    codec: o.codec,
    out: o.out,
    channels: 1,
    dtx: o.dtx ?? true,
    staleAfterMs: STALE_FRAME_MS,
    ...(o.encoderComplexity !== undefined ? { complexity: o.encoderComplexity } : {}),
  });
  const sub = source.subscribe(sender, { rate: o.codec.clockRate, channels: 1, name: o.name ?? "listener" });
  return {
    stop() {
      sub.stop();
      sender.close();
    },
    get stopped() {
      return sub.stopped;
    },
    stats: () => ({ relay: sub.stats(), sender: sender.stats() }),
  };
}
