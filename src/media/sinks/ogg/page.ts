// One Ogg page (RFC 3533 §6): header, lacing table, packet bodies, CRC over the whole page.
import { oggCrc32 } from "./crc.js";

export const OGG_FLAG_CONTINUED = 0x01;
export const OGG_FLAG_BOS = 0x02;
export const OGG_FLAG_EOS = 0x04;

/** lacing values for one packet: 255s then a final value < 255 (a 255-multiple ends with a 0) */
export function lacing(length: number): number[] {
  const out = new Array<number>(Math.floor(length / 255)).fill(255);
  out.push(length % 255);
  return out;
}

/** how many lacing values a packet of `length` bytes takes: lacing(length).length, without the array */
export function lacingSegments(length: number): number {
  return Math.floor(length / 255) + 1;
}

export interface PageSpec {
  flags: number;
  /** granule position; -1 when no packet ends on this page */
  granule: bigint;
  serial: number;
  sequence: number;
  /** complete packets (this writer never splits a packet across pages) */
  packets: Uint8Array[];
}

export function buildPage(p: PageSpec): Buffer {
  const segments: number[] = [];
  for (const pkt of p.packets) segments.push(...lacing(pkt.length));
  if (segments.length > 255) throw new RangeError(`page needs ${segments.length} lacing values (max 255)`);
  const bodyLength = p.packets.reduce((n, pkt) => n + pkt.length, 0);
  const page = Buffer.alloc(27 + segments.length + bodyLength);
  page.write("OggS", 0, "ascii");
  page[4] = 0; // stream structure version
  page[5] = p.flags;
  page.writeBigInt64LE(p.granule, 6);
  page.writeUInt32LE(p.serial >>> 0, 14);
  page.writeUInt32LE(p.sequence >>> 0, 18);
  page.writeUInt32LE(0, 22); // CRC, computed with this field zeroed
  page[26] = segments.length;
  for (let i = 0; i < segments.length; i++) page[27 + i] = segments[i]!;
  let off = 27 + segments.length;
  for (const pkt of p.packets) {
    page.set(pkt, off);
    off += pkt.length;
  }
  page.writeUInt32LE(oggCrc32(page), 22);
  return page;
}
