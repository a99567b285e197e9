export * from "./errors.js";
export * from "./factory.js";
export * from "./g711.js";
export * from "./g711-codec.js";
export {
  OPUS_RATE,
  OpusDecoder,
  type OpusDecoderOptions,
  OpusEncoder,
  type OpusEncoderOptions,
} from "./opus.js";
export {
  OPUS_ENCODER_CHOICES,
  type OpusEncoderBackend,
  type OpusEncoderChoice,
  opusEncoderBackend,
  selectOpusEncoder,
} from "./opus-encoder-state.js";
export { loadOpusNative } from "./opus-native.js";
export { isOpusDtxPacket, opusPacketSamples } from "./opus-toc.js";
export { OPUS_CTL, opusWasm, SIMD_PROBE } from "./opus-wasm.js";
export type * from "./types.js";
