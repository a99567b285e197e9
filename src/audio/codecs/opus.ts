// Opus decoder and encoder (RFC 6716). The decoder runs libopus compiled to WASM (see
// opus-wasm.ts for why we bind the package's .wasm directly); the encoder runs the same libopus
// natively where the package ships an addon for the platform, WASM otherwise
// (opus-encoder-state.ts, RTCGW_OPUS_ENCODER). The RTP clock is always 48 kHz (opus/48000/2, RFC 7587
// §4.1); the encoder takes 48 kHz, the decoder can output any rate libopus decodes to natively
// (RFC 6716 §2: 8, 12, 16, 24 or 48 kHz), which for a 16 kHz pipeline is both cheaper than
// decoding at 48 kHz and makes the resampler step unnecessary. The encoder takes the same rates
// (opus_encoder_init's Fs): a 16 kHz pipeline encodes its 16 kHz audio as it is, with no
// resampler up to 48 kHz in front — the RTP timestamps stay in 48 kHz units either way.

import { CodecDestroyedError, CodecOptionsError, DecodeError, EncodeError } from "./errors.js";
import {
  createOpusEncoderState,
  type OpusEncoderBackend,
  type OpusEncoderState,
} from "./opus-encoder-state.js";
import { OPUS_APPLICATION, OPUS_BANDWIDTH, OPUS_CTL, OPUS_SIGNAL_VOICE, opusWasm } from "./opus-wasm.js";
import type { AudioDecoder, AudioEncoder } from "./types.js";

export const OPUS_RATE = 48000;
/** the output rates opus_decoder_init accepts */
export const OPUS_DECODE_RATES = [8000, 12000, 16000, 24000, 48000] as const;
export type OpusDecodeRate = (typeof OPUS_DECODE_RATES)[number];
/** the longest Opus packet: 120 ms */
const MAX_PACKET_MS = 120;

// Safety net: state memory is freed if a codec is garbage-collected without destroy().
const finalizer = new FinalizationRegistry<number>((ptr) => opusWasm().exports.free(ptr));

function checkChannels(channels: number): asserts channels is 1 | 2 {
  if (channels !== 1 && channels !== 2)
    throw new CodecOptionsError(`opus channels must be 1 or 2, got ${channels}`);
}

export interface OpusDecoderOptions {
  /** 1 downmixes a stereo stream inside libopus; 2 upmixes mono (default 1) */
  channels?: 1 | 2;
  /** output rate (default 48000); packet durations scale with it (20 ms = rate / 50 samples) */
  rate?: number;
}

export function isOpusDecodeRate(rate: number): rate is OpusDecodeRate {
  return (OPUS_DECODE_RATES as readonly number[]).includes(rate);
}

export class OpusDecoder implements AudioDecoder {
  readonly codec = "opus" as const;
  readonly rate: OpusDecodeRate;
  readonly channels: 1 | 2;
  /** PLC and FEC sizes must be multiples of 2.5 ms (opus_decode: frame_size % (Fs/400) == 0) */
  private readonly quantum: number;
  private readonly maxFrame: number;
  private ptr: number;

  constructor(options: OpusDecoderOptions = {}) {
    const channels = options.channels ?? 1;
    checkChannels(channels);
    const rate = options.rate ?? OPUS_RATE;
    if (!isOpusDecodeRate(rate))
      throw new CodecOptionsError(`opus decodes at ${OPUS_DECODE_RATES.join(", ")} Hz, not ${rate}`);
    this.channels = channels;
    this.rate = rate;
    this.quantum = rate / 400;
    this.maxFrame = (rate * MAX_PACKET_MS) / 1000;
    const w = opusWasm().exports;
    this.ptr = w.malloc(w.opus_decoder_get_size(channels));
    const rc = w.opus_decoder_init(this.ptr, rate, channels);
    if (rc < 0) {
      w.free(this.ptr);
      throw new CodecOptionsError(`opus_decoder_init: ${opusWasm().strerror(rc)}`);
    }
    finalizer.register(this, this.ptr, this);
  }

  private state(): number {
    if (this.ptr === 0) throw new CodecDestroyedError();
    return this.ptr;
  }

  /** decode one Opus packet (any duration up to 120 ms); throws DecodeError on a corrupt packet */
  decode(payload: Uint8Array): Int16Array {
    const st = this.state();
    if (payload.length === 0)
      throw new DecodeError("empty opus payload (use conceal() for a missing packet)");
    return opusWasm().decode(st, this.channels, payload, this.maxFrame, false);
  }

  /**
   * decode() into `out` (interleaved from index 0; at least maxFrameSamples × channels long),
   * reused by the caller from packet to packet instead of a fresh array each; returns the
   * samples per channel written. Throws DecodeError on a corrupt packet, like decode().
   */
  decodeInto(payload: Uint8Array, out: Int16Array): number {
    const st = this.state();
    if (payload.length === 0)
      throw new DecodeError("empty opus payload (use conceal() for a missing packet)");
    return opusWasm().decodeInto(st, this.channels, payload, this.maxFrame, false, out);
  }

  /** the longest packet's samples per channel (120 ms): what a decodeInto() buffer must hold per channel */
  get maxFrameSamples(): number {
    return this.maxFrame;
  }

  /**
   * Packet-loss concealment: libopus PLC for `samples` per channel (opus_decode with no data).
   * Sizes are rounded up to 2.5 ms inside libopus' rule and trimmed back, so any length works.
   */
  conceal(samples: number): Int16Array {
    const st = this.state();
    if (!Number.isInteger(samples) || samples <= 0 || samples > this.maxFrame) {
      throw new CodecOptionsError(`conceal size must be 1..${this.maxFrame} samples, got ${samples}`);
    }
    const asked = Math.ceil(samples / this.quantum) * this.quantum;
    const pcm = opusWasm().decode(st, this.channels, null, asked, false);
    return asked === samples ? pcm : pcm.slice(0, samples * this.channels);
  }

  /**
   * In-band FEC (RFC 6716 §2.1.7): rebuild the frame *before* `nextPayload` from the LBRR copy the
   * sender put in it (encoder `inband_fec`). When the packet carries no LBRR, libopus falls back
   * to PLC on its own, so the result is always `samples` long. Returns undefined for sizes libopus
   * refuses (not a multiple of 2.5 ms) so the caller conceals instead.
   */
  decodeFec(nextPayload: Uint8Array, samples: number): Int16Array | undefined {
    const st = this.state();
    if (nextPayload.length === 0 || samples % this.quantum !== 0 || samples > this.maxFrame) return undefined;
    try {
      return opusWasm().decode(st, this.channels, nextPayload, samples, true);
    } catch (e) {
      if (e instanceof DecodeError) return undefined;
      throw e;
    }
  }

  /** OPUS_GET_IN_DTX: the last decoded packet put the decoder in DTX (comfort noise) */
  get inDtx(): boolean {
    return opusWasm().exports.opus_decoder_ctl_get(this.state(), OPUS_CTL.GET_IN_DTX) === 1;
  }

  /** OPUS_GET_LAST_PACKET_DURATION in samples per channel */
  get lastPacketDuration(): number {
    return opusWasm().exports.opus_decoder_ctl_get(this.state(), OPUS_CTL.GET_LAST_PACKET_DURATION);
  }

  reset(): void {
    opusWasm().exports.opus_decoder_ctl_get(this.state(), OPUS_CTL.RESET_STATE);
  }

  destroy(): void {
    if (this.ptr === 0) return;
    finalizer.unregister(this);
    opusWasm().exports.free(this.ptr);
    this.ptr = 0;
  }
}

export interface OpusEncoderOptions {
  channels?: 1 | 2;
  /** input rate (default 48000): 8, 12, 16, 24 or 48 kHz; the audio's bandwidth is at most half of it */
  rate?: number;
  /** voip (default: speech-tuned, enables SILK + FEC paths), audio, or lowdelay (CELT only) */
  application?: keyof typeof OPUS_APPLICATION;
  /** bits per second, 6000..510000 (default 32000, a good WebRTC voice rate) */
  bitrate?: number;
  /** 0..10 (default 5: about half the CPU of 10, inaudible difference for voice) */
  complexity?: number;
  /** in-band FEC (LBRR) so a receiver can rebuild one lost frame (default true) */
  inbandFec?: boolean;
  /** expected loss % the FEC is tuned for (default 10 when inbandFec, libopus needs > 0) */
  packetLossPercent?: number;
  /** discontinuous transmission: 1-byte packets while silent (default false) */
  dtx?: boolean;
  /** the widest audio coded (OPUS_SET_MAX_BANDWIDTH; default fullband, i.e. as wide as the input rate allows) */
  maxBandwidth?: keyof typeof OPUS_BANDWIDTH;
  /** samples per channel per encode() call: 2.5..60 ms at the input rate (default 20 ms: rate / 50) */
  frameSize?: number;
  /** native or WASM libopus (default: the process' choice, opusEncoderBackend()) */
  backend?: OpusEncoderBackend;
}

/** opus_encode's frame durations, in 2.5 ms units: 2.5, 5, 10, 20, 40, 60 ms */
const VALID_FRAME_QUANTA = new Set([1, 2, 4, 8, 16, 24]);

export class OpusEncoder implements AudioEncoder {
  readonly codec = "opus" as const;
  readonly rate: OpusDecodeRate;
  readonly channels: 1 | 2;
  readonly frameSize: number;
  /** where libopus runs for this encoder (opus-encoder-state.ts) */
  readonly backend: OpusEncoderBackend;
  readonly #state: OpusEncoderState;
  #destroyed = false;

  constructor(options: OpusEncoderOptions = {}) {
    const channels = options.channels ?? 1;
    checkChannels(channels);
    this.channels = channels;
    const rate = options.rate ?? OPUS_RATE;
    if (!isOpusDecodeRate(rate))
      throw new CodecOptionsError(`opus encodes at ${OPUS_DECODE_RATES.join(", ")} Hz, not ${rate}`);
    this.rate = rate;
    this.frameSize = options.frameSize ?? rate / 50;
    if (!VALID_FRAME_QUANTA.has(this.frameSize / (rate / 400))) {
      throw new CodecOptionsError(
        `opus frame size must be 2.5/5/10/20/40/60 ms, got ${this.frameSize} samples at ${rate} Hz`,
      );
    }
    const bitrate = options.bitrate ?? 32000;
    if (!Number.isInteger(bitrate) || bitrate < 6000 || bitrate > 510000) {
      throw new CodecOptionsError(`opus bitrate must be 6000..510000, got ${bitrate}`);
    }
    const complexity = options.complexity ?? 5;
    if (!Number.isInteger(complexity) || complexity < 0 || complexity > 10) {
      throw new CodecOptionsError(`opus complexity must be 0..10, got ${complexity}`);
    }
    const application = OPUS_APPLICATION[options.application ?? "voip"];
    if (application === undefined)
      throw new CodecOptionsError(`unknown opus application ${options.application}`);
    const fec = options.inbandFec ?? true;
    const loss = options.packetLossPercent ?? (fec ? 10 : 0);
    if (!Number.isInteger(loss) || loss < 0 || loss > 100) {
      throw new CodecOptionsError(`packetLossPercent must be 0..100, got ${loss}`);
    }

    this.#state = createOpusEncoderState(rate, channels, application, options.backend);
    this.backend = this.#state.backend;
    try {
      this.#state.set(OPUS_CTL.SET_BITRATE, bitrate);
      this.#state.set(OPUS_CTL.SET_COMPLEXITY, complexity);
      this.#state.set(OPUS_CTL.SET_INBAND_FEC, fec ? 1 : 0);
      this.#state.set(OPUS_CTL.SET_PACKET_LOSS_PERC, loss);
      this.#state.set(OPUS_CTL.SET_DTX, options.dtx ? 1 : 0);
      if (options.maxBandwidth !== undefined) {
        const bw = OPUS_BANDWIDTH[options.maxBandwidth];
        if (bw === undefined) throw new CodecOptionsError(`unknown opus bandwidth ${options.maxBandwidth}`);
        this.#state.set(OPUS_CTL.SET_MAX_BANDWIDTH, bw);
      }
      if (application === OPUS_APPLICATION.voip) this.#state.set(OPUS_CTL.SET_SIGNAL, OPUS_SIGNAL_VOICE);
    } catch (e) {
      this.#state.free();
      throw e;
    }
  }

  /** read back an encoder CTL (OPUS_GET_*), e.g. to verify settings */
  get(cmd: number): number {
    if (this.#destroyed) throw new CodecDestroyedError();
    return this.#state.get(cmd);
  }

  /** encode exactly `frameSize` samples per channel; with DTX, silent frames come back as 1–2 bytes */
  encode(pcm: Int16Array): Uint8Array {
    if (this.#destroyed) throw new CodecDestroyedError();
    if (pcm.length !== this.frameSize * this.channels) {
      throw new EncodeError(
        `opus encode wants ${this.frameSize * this.channels} samples (${this.frameSize} × ${this.channels} ch), got ${pcm.length}`,
      );
    }
    return this.#state.encode(pcm, this.frameSize);
  }

  reset(): void {
    if (this.#destroyed) throw new CodecDestroyedError();
    this.#state.reset();
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#state.free();
  }
}
