// Frames in, RTP out: re-chunks PCM into exact codec frames (the resampler hands out uneven
// sizes), encodes (src/audio/codecs), packetizes and hands each packet to its PacketSink. With `dtx`, digital silence is
// not sent at all (the timestamp still advances; the next packet carries the marker) — the
// WebRTC-style DTX that keeps a silent bridge or listener from spending bandwidth.
import { CodecOptionsError } from "../../audio/codecs/errors.js";
import { createEncoder } from "../../audio/codecs/factory.js";
import { OpusEncoder, type OpusEncoderOptions } from "../../audio/codecs/opus.js";
import { OPUS_CTL } from "../../audio/codecs/opus-wasm.js";
import type { AudioEncoder, CodecSpec } from "../../audio/codecs/types.js";
import { Chunker } from "../chunker.js";
import type { AudioFrame } from "../frame.js";
import type { FrameConsumer } from "../track.js";
import { type PacketizerStats, RtpPacketizer } from "./packetizer.js";

/**
 * Opus complexity for the voice the node sends (echo, WHEP listeners, PcmOut). Measured with
 * `npm run bench:pipeline` (docs/pipeline.md): echo CPU per frame ~40 % below complexity 10,
 * a voice-band tone back at the same frequency and level. 1 is cheaper still and passes the tone
 * checks too, but below 2 libopus drops parts of its SILK analysis that tones do not exercise.
 */
export const VOICE_OPUS_COMPLEXITY = 3;

/** the bitrate we send Opus voice at, unless the peer takes less (its maxaveragebitrate) */
export const VOICE_OPUS_BITRATE = 32_000;

/**
 * The Opus encoder's settings for what the peer said it takes (CodecSpec.remote, from its fmtp):
 * a peer that takes less than our bitrate gets at most what it takes, one whose playback is
 * narrower gets no wider audio, and in-band FEC is coded only for a decoder that uses it. A
 * spec that says nothing of the peer (a CodecSpec built in code) keeps the encoder's defaults.
 */
function toPeer(remote: CodecSpec["remote"]): Omit<OpusEncoderOptions, "channels"> {
  if (!remote) return {};
  const bw = remote.maxPlaybackRate;
  return {
    bitrate: Math.min(VOICE_OPUS_BITRATE, remote.maxAverageBitrate ?? VOICE_OPUS_BITRATE),
    inbandFec: remote.inbandFec,
    ...(bw === undefined || bw >= 48000
      ? {}
      : {
          // the bandwidth is half the sample rate (Nyquist): 8 kHz playback → narrowband (4 kHz)
          maxBandwidth:
            bw >= 24000
              ? "superwideband"
              : bw >= 16000
                ? "wideband"
                : bw >= 12000
                  ? "mediumband"
                  : "narrowband",
        }),
  };
}

/**
 * Where RTP packets go: the peer's outgoing track under our SSRC (the node's PeerSession hands
 * its own). An object handed to the sender, not a callback threaded through the profiles.
 */
export interface PacketSink {
  readonly ssrc: number;
  /** one whole RTP packet to the peer (node-datachannel: track.sendMessageBinary) */
  send(packet: Uint8Array): void;
}

export interface AudioSenderOptions {
  /** the negotiated codec: payload type, clock rate; frames arrive at its clockRate unless `rate` says otherwise */
  codec: CodecSpec;
  /**
   * The rate of the frames handed in (default the codec's clockRate). Opus encodes 8, 12, 16,
   * 24 or 48 kHz as it is (a 16 kHz pipeline needs no resampler up to 48 kHz in front of the
   * encoder); the RTP timestamps still count the codec's clock. G.711 takes 8000 only.
   */
  rate?: number;
  /** the packets' way out, and their SSRC */
  out: PacketSink;
  /** channels of the frames handed in (and encoded); default 1 */
  channels?: 1 | 2;
  /** skip sending frames of digital silence (default false: silence is encoded and sent) */
  dtx?: boolean;
  /** default 20 */
  frameMs?: number;
  /** an encoder to use instead of createEncoder(codec) (e.g. tuned bitrate) */
  encoder?: AudioEncoder;
  /** Opus encoder complexity 0..10 (ignored for G.711 and when `encoder` is given; default
   *  VOICE_OPUS_COMPLEXITY) — the encoder is most of an echo or listener's CPU */
  complexity?: number;
  initialSequence?: number;
  initialTimestamp?: number;
  /**
   * A frame whose `lateMs` exceeds this is already too late to be worth sending (an overloaded
   * node catching up its timeline after a stall). It is skipped: the RTP timestamp advances over
   * it, the peer conceals a gap, and the encoder's CPU is saved exactly when the node has none
   * to spare. Unset: every frame is sent (application audio on its own pacer).
   */
  staleAfterMs?: number;
}

export interface AudioSenderStats extends PacketizerStats {
  frames: number;
  /** frames skipped as stale (see staleAfterMs) */
  staleSkipped: number;
  /** send() calls that threw (counted; sending goes on) */
  sendErrors: number;
  encodeErrors: number;
}

function isSilent(pcm: Int16Array): boolean {
  for (let i = 0; i < pcm.length; i++) if (pcm[i] !== 0) return false;
  return true;
}

export class AudioSender implements FrameConsumer {
  readonly #encoder: AudioEncoder;
  readonly #packetizer: RtpPacketizer;
  readonly #out: PacketSink;
  readonly #dtx: boolean;
  readonly #staleAfterMs: number;
  /** lateMs of the frame being chunked now (the chunks it completes are as late as it) */
  #lateMs = 0;
  readonly #frameSamples: number; // per channel, at the input rate
  readonly #frameTicks: number; // RTP timestamp units per frame (the codec's clock)
  readonly #chunker: Chunker;
  #frames = 0;
  #sendErrors = 0;
  #encodeErrors = 0;
  #staleSkipped = 0;
  #closed = false;

  constructor(o: AudioSenderOptions) {
    const channels = o.channels ?? 1;
    const rate = o.rate ?? o.codec.clockRate;
    this.#encoder =
      o.encoder ??
      createEncoder(
        { codec: o.codec.codec, channels },
        { complexity: o.complexity ?? VOICE_OPUS_COMPLEXITY, rate, ...toPeer(o.codec.remote) },
      );
    if (this.#encoder.rate !== rate)
      throw new CodecOptionsError(`the ${o.codec.codec} encoder takes ${this.#encoder.rate} Hz, not ${rate}`);
    this.#packetizer = new RtpPacketizer({
      payloadType: o.codec.payloadType,
      ssrc: o.out.ssrc,
      clockRate: o.codec.clockRate,
      initialSequence: o.initialSequence,
      initialTimestamp: o.initialTimestamp,
    });
    this.#out = o.out;
    this.#dtx = o.dtx ?? false;
    this.#staleAfterMs = o.staleAfterMs ?? Number.POSITIVE_INFINITY;
    this.#frameSamples = Math.round((rate * (o.frameMs ?? 20)) / 1000);
    this.#frameTicks = Math.round((o.codec.clockRate * (o.frameMs ?? 20)) / 1000);
    // whole codec frames (interleaved) out of whatever run lengths arrive
    this.#chunker = new Chunker(this.#frameSamples * channels, (pcm) => this.#sendFrame(pcm));
  }

  onFrame(frame: AudioFrame): void {
    if (this.#closed) return;
    this.#lateMs = frame.lateMs ?? 0;
    this.#chunker.push(frame.samples);
  }

  #sendFrame(pcm: Int16Array): void {
    this.#frames++;
    if (this.#dtx && isSilent(pcm)) {
      this.#packetizer.skip(this.#frameTicks);
      return;
    }
    if (this.#lateMs > this.#staleAfterMs) {
      this.#staleSkipped++;
      this.#packetizer.skip(this.#frameTicks);
      return;
    }
    let payload: Uint8Array;
    try {
      payload = this.#encoder.encode(pcm);
    } catch {
      this.#encodeErrors++;
      this.#packetizer.skip(this.#frameTicks);
      return;
    }
    const packet = this.#packetizer.packetize(payload, this.#frameTicks);
    try {
      this.#out.send(packet);
    } catch {
      this.#sendErrors++;
    }
  }

  onEnd(): void {
    this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#encoder.destroy();
  }

  /** the Opus encoder's complexity as libopus reports it (OPUS_GET_COMPLEXITY); undefined for G.711 */
  get encoderComplexity(): number | undefined {
    return this.encoderSetting(OPUS_CTL.GET_COMPLEXITY);
  }

  /** an Opus encoder setting as libopus reports it (an OPUS_CTL.GET_* request); undefined for G.711 */
  encoderSetting(get: number): number | undefined {
    return this.#encoder instanceof OpusEncoder ? this.#encoder.get(get) : undefined;
  }

  stats(): AudioSenderStats {
    return {
      ...this.#packetizer.stats(),
      frames: this.#frames,
      staleSkipped: this.#staleSkipped,
      sendErrors: this.#sendErrors,
      encodeErrors: this.#encodeErrors,
    };
  }
}
