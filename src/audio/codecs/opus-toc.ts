// Read an Opus packet's duration from its TOC byte without decoding (RFC 6716 §3.1, §3.2.5).

/** samples per frame at 48 kHz for each of the 32 TOC configurations (RFC 6716 Table 2) */
const FRAME_SAMPLES: readonly number[] = Array.from({ length: 32 }, (_, config) => {
  if (config < 12) return [480, 960, 1920, 2880][config % 4]; // SILK-only: 10, 20, 40, 60 ms
  if (config < 16) return [480, 960][config % 2]; // Hybrid: 10, 20 ms
  return [120, 240, 480, 960][config % 4]; // CELT-only: 2.5, 5, 10, 20 ms
});

/**
 * Duration of one Opus packet in samples per channel at 48 kHz, or undefined when the packet is
 * malformed (empty; code 3 without its frame-count byte; more than 120 ms, RFC 6716 §3.2.5 R5).
 */
export function opusPacketSamples(packet: Uint8Array): number | undefined {
  if (packet.length < 1) return undefined;
  const toc = packet[0];
  const perFrame = FRAME_SAMPLES[toc >> 3];
  let frames: number;
  switch (toc & 0x03) {
    case 0:
      frames = 1;
      break;
    case 1:
    case 2:
      frames = 2;
      break;
    default:
      if (packet.length < 2) return undefined;
      frames = packet[1] & 0x3f;
  }
  const total = frames * perFrame;
  if (frames === 0 || total > 5760) return undefined;
  return total;
}

/** a packet with no coded frame data: a DTX/"lost frame" packet of 1–2 bytes (RFC 6716 §3.2.1) */
export function isOpusDtxPacket(packet: Uint8Array): boolean {
  return packet.length > 0 && packet.length <= 2;
}
