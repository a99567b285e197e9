// One interface for every codec the gateway speaks (Opus 48 kHz, PCMU/PCMA 8 kHz).

export type CodecName = "opus" | "pcmu" | "pcma";

export interface AudioDecoder {
  readonly codec: CodecName;
  /** output sample rate (48000 for Opus, 8000 for G.711) */
  readonly rate: number;
  readonly channels: 1 | 2;
  /** decode one payload into interleaved 16-bit PCM */
  decode(payload: Uint8Array): Int16Array;
  /**
   * decode() into `out` (interleaved, from index 0), a buffer the caller reuses, instead of a
   * fresh array per packet; returns the samples per channel written. Optional: a codec without it
   * is called through decode(). `out` holds maxFrameSamples × channels.
   */
  decodeInto?(payload: Uint8Array, out: Int16Array): number;
  /** with decodeInto: the most samples per channel one payload can decode to */
  readonly maxFrameSamples?: number;
  /** packet-loss concealment: synthesise `samples` per channel for a missing packet */
  conceal(samples: number): Int16Array;
  /** in-band FEC: recover the packet *before* `nextPayload` from its redundancy, if the codec can;
   *  returns undefined when the codec or package offers no FEC (caller falls back to conceal). */
  decodeFec?(nextPayload: Uint8Array, samples: number): Int16Array | undefined;
  reset(): void;
  destroy(): void;
}

export interface AudioEncoder {
  readonly codec: CodecName;
  readonly rate: number;
  readonly channels: 1 | 2;
  /** encode exactly one frame (e.g. 960 samples per channel = 20 ms at 48 kHz) */
  encode(pcm: Int16Array): Uint8Array;
  reset(): void;
  destroy(): void;
}

/** a negotiated audio codec, as an SDP m= section describes it (RFC 4566 rtpmap / fmtp) */
export interface CodecSpec {
  codec: CodecName;
  /** the dynamic or static RTP payload type (opus: dynamic, PCMU: 0, PCMA: 8) */
  payloadType: number;
  /** RTP clock rate = decoder output rate (48000 for Opus, 8000 for G.711) */
  clockRate: number;
  /** channels to decode to (the pipeline decodes Opus mono unless the record profile records a
   *  caller that says sprop-stereo=1: media/profiles/codec.ts, create.ts) */
  channels: 1 | 2;
  /**
   * What the remote peer said it takes (its Opus fmtp, RFC 7587 §6.1), which an encoder sending
   * to it honours: `maxAverageBitrate` (its `maxaveragebitrate`, bits/s), `maxPlaybackRate` (its
   * `maxplaybackrate`, Hz: no wider audio than that), `inbandFec` (its `useinbandfec=1`: its
   * decoder uses in-band FEC; absent, RFC 7587's default 0 — FEC bits would be wasted on it).
   * Absent as a whole: nothing known (an encoder keeps its own defaults).
   */
  remote?: { maxAverageBitrate?: number; maxPlaybackRate?: number; inbandFec: boolean };
}

/** where an Opus encoder's libopus runs (src/audio/codecs/opus-encoder-state.ts) */
export type OpusEncoderBackend = "native" | "wasm";

/** one libopus encoder state on one backend, behind OpusEncoder */
export interface OpusEncoderState {
  readonly backend: OpusEncoderBackend;
  /** opus_encoder_ctl with a value; CodecOptionsError on an error code */
  set(cmd: number, value: number): void;
  /** a getter CTL's value (OPUS_GET_*) */
  get(cmd: number): number;
  /** one frame (the caller checked its length); a fresh copy of the packet; EncodeError on failure */
  encode(pcm: Int16Array, frameSize: number): Uint8Array;
  reset(): void;
  /** release the state; using it afterwards throws */
  free(): void;
}
