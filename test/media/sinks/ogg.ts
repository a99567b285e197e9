// An independent Ogg reader for the tests: pages, CRC (bitwise, not the writer's table), packets.
import { readFileSync } from "node:fs";

export interface OggPage {
  flags: number;
  granule: bigint;
  serial: number;
  sequence: number;
  crcOk: boolean;
  packets: Uint8Array[];
}

function crcBitwise(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 24;
    for (let i = 0; i < 8; i++) crc = crc & 0x80000000 ? ((crc << 1) ^ 0x04c11db7) >>> 0 : (crc << 1) >>> 0;
  }
  return crc >>> 0;
}

export function readOggPages(path: string): OggPage[] {
  const b = readFileSync(path);
  const pages: OggPage[] = [];
  let off = 0;
  let carry: Uint8Array[] = [];
  while (off < b.length) {
    if (b.toString("ascii", off, off + 4) !== "OggS") throw new Error(`no capture pattern at ${off}`);
    const nseg = b[off + 26]!;
    const lace = b.subarray(off + 27, off + 27 + nseg);
    const bodyLen = lace.reduce((a, v) => a + v, 0);
    const total = 27 + nseg + bodyLen;
    const copy = Buffer.from(b.subarray(off, off + total));
    const stored = copy.readUInt32LE(22);
    copy.writeUInt32LE(0, 22);
    const packets: Uint8Array[] = [];
    let p = off + 27 + nseg;
    let cur: number[] = [];
    for (const l of lace) {
      cur.push(...b.subarray(p, p + l));
      p += l;
      if (l < 255) {
        packets.push(Uint8Array.from([...carry.flatMap((c) => [...c]), ...cur]));
        carry = [];
        cur = [];
      }
    }
    if (cur.length) carry.push(Uint8Array.from(cur));
    pages.push({
      flags: b[off + 5]!,
      granule: b.readBigInt64LE(off + 6),
      serial: b.readUInt32LE(off + 14),
      sequence: b.readUInt32LE(off + 18),
      crcOk: crcBitwise(copy) === stored,
      packets,
    });
    off += total;
  }
  return pages;
}
