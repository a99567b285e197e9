// The Ogg page checksum (RFC 3533 §6): CRC-32, polynomial 0x04C11DB7, MSB first, initial value 0,
// no final XOR — not the zlib CRC-32 (which is bit-reflected), so node:zlib's crc32 does not fit.

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let b = 0; b < 8; b++) r = r & 0x8000_0000 ? (r << 1) ^ 0x04c1_1db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

export function oggCrc32(data: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < data.length; i++) crc = ((crc << 8) ^ TABLE[((crc >>> 24) ^ data[i]!) & 0xff]!) >>> 0;
  return crc >>> 0;
}
