// A session's incoming audio: the receive timeline (jitter buffer + timestamp repair, from
// src/media/receive) feeding a track, and the relay every consumer of that audio subscribes to.
// A black hole is subscribed from the start (docs/design.md rule 2): the track is consumed from its
// first packet whether or not a recorder, echo or listener is attached.
import { isOpusDecodeRate } from "../../audio/codecs/opus.js";
import type { CodecSpec } from "../../audio/codecs/types.js";
import type { AudioFrame } from "../frame.js";
import type { ReceiverCounters } from "../receive/counters.js";
import type { PlayoutDelayOptions } from "../receive/playout-delay.js";
import { RtpAudioReceiver } from "../receive/receiver.js";
import { Relay, type RelayConsumerOptions, type RelaySubscription } from "../relay.js";
import { ResampleStage } from "../resample-stage.js";
import { BlackHoleSink } from "../sinks/black-hole.js";
import { SpanGate } from "../span-gate.js";
import { type FrameConsumer, PushedTrack } from "../track.js";

export interface InboundOptions {
  codec: CodecSpec;
  /**
   * the rate the session's consumers want (default: the codec's clock rate). Opus decodes
   * straight to it when libopus can, which costs less than decoding at 48 kHz and resampling;
   * otherwise the timeline runs at the codec's rate and subscriptions resample (decodeRateFor).
   */
  rate?: number;
  /** wall time the session's audio timeline starts (default: first packet's arrival) */
  startMs?: number;
  jitter?: PlayoutDelayOptions;
  /**
   * emit each frame as soon as its packets are here in sequence, not at its due time; only a gap
   * waits for the adaptive depth (RtpAudioReceiverOptions.eager): for a live consumer that wants
   * the audio as it arrives (the bridge). Frames and pts are the same either way.
   */
  eager?: boolean;
  /** per-consumer queue bound of the relay (default 50 frames) */
  queueFrames?: number;
}

/** takes the original payloads in timeline order, and null for `gapMs` of a slot nothing arrived
 *  for (RtpAudioReceiverOptions.onPacket), e.g. the Ogg writer */
export interface PacketConsumer {
  onPacket(payload: Uint8Array | null, pts: number, gapMs: number): void;
}

export interface PcmSubscribeOptions extends RelayConsumerOptions {
  /** deliver at this rate (default: the codec's) */
  rate?: number;
  /** deliver with this many channels (default: the codec's; 1 downmixes) */
  channels?: 1 | 2;
  /**
   * deliver only the call's media span: filler is held until audio follows it and dropped at
   * the end (SpanGate) — what a recorder wants; live consumers leave this off
   */
  span?: boolean;
  /** when resampling: hand out the resampler's delay as leading silence, so each frame in gives
   *  its whole frame out at once (ResampleStageOptions.leadIn; live consumers that cut frames) */
  leadIn?: boolean;
}

/**
 * A frame emitted this late (ms past its due time) is not worth encoding for a live peer: the
 * node is catching up after a stall, and sending a burst of old audio only adds latency at the
 * peer. Real-time senders (echo, WHEP listeners) skip such frames; recorders keep every one.
 */
export const STALE_FRAME_MS = 100;

/**
 * The rate to decode at for consumers that want `rate`: that rate itself when the codec can
 * decode to it natively (Opus at 8/12/16/24/48 kHz), else the codec's clock rate (then a
 * resampler bridges the difference).
 */
function decodeRateFor(codec: CodecSpec, rate: number): number {
  return codec.codec === "opus" && isOpusDecodeRate(rate) ? rate : codec.clockRate;
}

export class InboundAudio {
  readonly track: PushedTrack;
  readonly relay: Relay;
  readonly receiver: RtpAudioReceiver;
  readonly blackHole = new BlackHoleSink();
  /** exceptions caught at the pipeline's edge (a bug, never a client's packet, should land here) */
  errors = 0;
  lastError: unknown;
  /** an array, not a Set: iterated once per 20 ms slot, changed once per call */
  #packetConsumers: readonly PacketConsumer[] = [];
  #closed = false;

  constructor(o: InboundOptions) {
    this.receiver = new RtpAudioReceiver({
      codec: o.codec,
      outputRate: o.rate === undefined ? undefined : decodeRateFor(o.codec, o.rate),
      startMs: o.startMs,
      jitter: o.jitter,
      eager: o.eager,
      onFrame: (f: AudioFrame) => this.track.push(f),
      onPacket: (payload, pts, gapMs) => {
        const cs = this.#packetConsumers;
        for (let i = 0; i < cs.length; i++) cs[i]!.onPacket(payload, pts, gapMs);
      },
    });
    // the receiver decides the timeline's format (G.711 is 8 kHz mono whatever was asked)
    this.track = new PushedTrack(this.receiver.rate, this.receiver.channels);
    this.relay = new Relay(this.track, { queueFrames: o.queueFrames });
    this.track.subscribe(this.blackHole);
  }

  get rate(): number {
    return this.track.rate;
  }

  get channels(): 1 | 2 {
    return this.track.channels;
  }

  /** one datagram from the peer's track (RTP; muxed RTCP and junk are counted and ignored) */
  pushRtp(packet: Uint8Array, arrivalMs: number): void {
    if (this.#closed) return;
    // the edge of the pipeline: whatever goes wrong inside, one session's packet never throws
    // into the transport's callback (and so never takes the process down)
    try {
      this.receiver.push(packet, arrivalMs);
    } catch (err) {
      this.#caught(err);
    }
  }

  /** the timeline begins at `ms` unless a packet began it already (RtpAudioReceiver.startAt) */
  startAt(ms: number): void {
    if (!this.#closed) this.receiver.startAt(ms);
  }

  /** emit every frame due by `nowMs` (same clock as the arrival times) */
  tick(nowMs: number): void {
    if (this.#closed) return;
    try {
      this.receiver.tick(nowMs);
    } catch (err) {
      this.#caught(err);
    }
  }

  #caught(err: unknown): void {
    this.errors++;
    this.lastError = err;
  }

  /**
   * Subscribe to this session's decoded, repaired audio at any supported rate/layout; the
   * relay's bounded queue isolates a slow consumer. Stop the subscription to detach.
   */
  subscribe(consumer: FrameConsumer, o: PcmSubscribeOptions = {}): RelaySubscription & { flush(): void } {
    const rate = o.rate ?? this.rate;
    const channels = o.channels ?? this.channels;
    const stage = new ResampleStage({
      inRate: this.rate,
      inChannels: this.channels,
      outRate: rate,
      outChannels: channels,
      next: consumer,
      leadIn: o.leadIn,
    });
    const sub = this.relay.subscribe(o.span ? new SpanGate(stage) : stage, o);
    return {
      name: sub.name,
      get stopped() {
        return sub.stopped;
      },
      stats: () => sub.stats(),
      flush: () => stage.flush(),
      stop: () => {
        sub.stop();
        stage.destroy();
      },
    };
  }

  /**
   * Subscribe to the original payloads along the repaired timeline, and its gaps (no decoding
   * involved: what the Ogg writer keeps). Returns the unsubscribe.
   */
  subscribePackets(consumer: PacketConsumer): () => void {
    if (!this.#packetConsumers.includes(consumer))
      this.#packetConsumers = [...this.#packetConsumers, consumer];
    return () => {
      this.#packetConsumers = this.#packetConsumers.filter((c) => c !== consumer);
    };
  }

  /** end of the call: the timeline is completed to the end of the last packet (see
   *  RtpAudioReceiver.flush), consumers get onEnd */
  close(nowMs: number): void {
    if (this.#closed) return;
    this.#closed = true;
    this.receiver.flush(nowMs);
    this.track.end("session closed");
  }

  counters(): ReceiverCounters {
    return { ...this.receiver.counters };
  }
}
