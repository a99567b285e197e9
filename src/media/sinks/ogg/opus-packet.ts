// The Ogg writer's stand-in for a missing slot. Packet durations come from the codec's TOC reader
// (src/audio/codecs/opus-toc.ts, RFC 6716 §3.1).
import { opusPacketSamples } from "../../../audio/codecs/opus-toc.js";

/** samples per channel at 48 kHz of one frame of this TOC configuration (RFC 6716 Table 2) */
function frameSamples(config: number): number {
  return opusPacketSamples(Uint8Array.of(config << 3)) ?? 0;
}

/**
 * A 1-byte packet standing for one lost 20 ms frame: a TOC with frame-count code 0 and no frame
 * data. RFC 6716 §3.2.1: a zero-length frame is a lost/DTX frame and the decoder conceals it;
 * RFC 7845 §4: this is how a muxer keeps granule positions true across a gap. The TOC repeats
 * the last real packet's mode/bandwidth/stereo bits when its frames were 20 ms, else CELT FB 20 ms.
 */
export function lostFramePacket(lastToc: number | undefined, channels: 1 | 2): Uint8Array {
  if (lastToc !== undefined && frameSamples(lastToc >> 3) === 960) return Uint8Array.of(lastToc & 0xfc);
  return Uint8Array.of((31 << 3) | (channels === 2 ? 0x04 : 0));
}
