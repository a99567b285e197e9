export * from "./errors.js";
export {
  createResampler,
  type LoadResamplerOptions,
  loadResampler,
  ResamplerKernel,
  SAMPLE_RATES,
  simdSupported,
} from "./resampler.js";
export type * from "./types.js";
