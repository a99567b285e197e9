// What the Ogg writer needs to know about an Opus packet without decoding it (RFC 6716 §3.1):
// its duration in 48 kHz samples, from the TOC byte and frame-count code.

/** per-frame duration in 48 kHz samples for each of the 32 TOC configurations (RFC 6716 Table 2) */
function frameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config % 4]!; // SILK-only: 10, 20, 40, 60 ms
  if (config < 16) return [480, 960][config % 2]!; // Hybrid: 10, 20 ms
  return [120, 240, 480, 960][config % 4]!; // CELT-only: 2.5, 5, 10, 20 ms
}

/** samples per channel at 48 kHz carried by `packet`; 0 for an empty or malformed packet */
export function opusPacketSamples(packet: Uint8Array): number {
  if (packet.length < 1) return 0;
  const toc = packet[0]!;
  const per = frameSamples(toc >> 3);
  switch (toc & 0x03) {
    case 0:
      return per;
    case 1:
    case 2:
      return 2 * per;
    default: {
      if (packet.length < 2) return 0;
      const n = packet[1]! & 0x3f;
      return n * per > 5760 ? 0 : n * per; // a packet holds at most 120 ms (§3.2.5)
    }
  }
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
