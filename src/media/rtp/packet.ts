// RTP fixed header, CSRC list, header extension and padding (RFC 3550 §5.1, §5.3.1).
// Hand-written: node-datachannel hands us whole decrypted packets and exposes no depacketizer,
// and the npm RTP libraries (werift-rtp, rtp.js) drag in a whole WebRTC stack or throw on bad
// input; a parser that never throws and returns a typed error fits in one page.

export const RTP_VERSION = 2;
export const RTP_HEADER_BYTES = 12;

export interface RtpHeaderExtension {
  /** the 16-bit "defined by profile" field (0xBEDE = one-byte header extensions, RFC 8285 §4.2) */
  profile: number;
  /** the extension body (length × 4 bytes), without the 4-byte extension header */
  data: Uint8Array;
}

export interface RtpPacket {
  version: 2;
  padding: boolean;
  marker: boolean;
  payloadType: number;
  /** 16-bit sequence number as sent (wraps at 65536) */
  sequenceNumber: number;
  /** 32-bit media timestamp as sent (wraps at 2^32) */
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  extension?: RtpHeaderExtension;
  /** the payload, padding removed; a view into the input buffer (no copy) */
  payload: Uint8Array;
  /** padding bytes removed from the end (the last octet's count, RFC 3550 §5.1 P bit) */
  paddingBytes: number;
}

export type RtpParseErrorCode =
  | "too_short"
  | "bad_version"
  | "csrc_overflow"
  | "extension_overflow"
  | "bad_padding"
  | "rtcp";

export interface RtpParseError {
  code: RtpParseErrorCode;
  message: string;
}

export type RtpParseResult = { ok: true; packet: RtpPacket } | { ok: false; error: RtpParseError };

function fail(code: RtpParseErrorCode, message: string): RtpParseResult {
  return { ok: false, error: { code, message } };
}

/**
 * RTCP on a port muxed with RTP (RFC 5761 §4): a version-2 datagram whose second byte is
 * 192..223 (RTCP packet types 200..206 live there; an RTP packet there would be a marked payload
 * type 64..95, which §4 forbids on a muxed session). The one rule, for the node and the pipeline.
 */
export function isRtcp(buf: Uint8Array): boolean {
  if (buf.length < 2 || buf[0]! >> 6 !== RTP_VERSION) return false;
  return buf[1]! >= 192 && buf[1]! <= 223;
}

/** RTCP BYE (RFC 3550 §6.6) */
export const RTCP_BYE = 203;

/**
 * true when a (compound) RTCP packet carries a BYE: the sender says its source is leaving
 * (RFC 3550 §6.6). Walks the compound by each packet's length field; stops at the first
 * malformed header (never throws, never reads past the buffer).
 */
export function rtcpHasBye(buf: Uint8Array): boolean {
  let off = 0;
  while (off + 4 <= buf.length) {
    if (buf[off]! >> 6 !== RTP_VERSION) return false;
    if (buf[off + 1] === RTCP_BYE) return true;
    const words = ((buf[off + 2]! << 8) | buf[off + 3]!) + 1;
    off += words * 4;
  }
  return false;
}

/**
 * A copy of an RTP packet under another payload type and SSRC (marker, sequence, timestamp and
 * payload kept): a source's packets forwarded as a listener's stream without decoding them.
 */
export function restamp(packet: Uint8Array, payloadType: number, ssrc: number): Buffer {
  const out = Buffer.from(packet);
  out[1] = (out[1]! & 0x80) | payloadType;
  out.writeUInt32BE(ssrc, 8);
  return out;
}

/** parse one RTP packet; never throws, whatever the bytes */
export function parseRtp(buf: Uint8Array): RtpParseResult {
  if (!(buf instanceof Uint8Array) || buf.length < RTP_HEADER_BYTES) {
    return fail("too_short", `RTP needs ${RTP_HEADER_BYTES} bytes, got ${buf?.length ?? 0}`);
  }
  const version = buf[0] >> 6;
  if (version !== RTP_VERSION) return fail("bad_version", `RTP version ${version}, expected 2`);
  if (isRtcp(buf)) return fail("rtcp", `payload type ${buf[1] & 0x7f} is RTCP on a muxed port (RFC 5761 §4)`);

  const padding = (buf[0] & 0x20) !== 0;
  const hasExtension = (buf[0] & 0x10) !== 0;
  const csrcCount = buf[0] & 0x0f;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);

  let offset = RTP_HEADER_BYTES + csrcCount * 4;
  if (offset > buf.length)
    return fail("csrc_overflow", `${csrcCount} CSRCs do not fit in ${buf.length} bytes`);
  const csrcs: number[] = [];
  for (let i = 0; i < csrcCount; i++) csrcs.push(view.getUint32(RTP_HEADER_BYTES + i * 4));

  let extension: RtpHeaderExtension | undefined;
  if (hasExtension) {
    // RFC 3550 §5.3.1: 16-bit profile, 16-bit length in 32-bit words, then the data
    if (offset + 4 > buf.length) return fail("extension_overflow", "extension header runs past the packet");
    const profile = view.getUint16(offset);
    const words = view.getUint16(offset + 2);
    const end = offset + 4 + words * 4;
    if (end > buf.length)
      return fail("extension_overflow", `extension of ${words} words runs past the packet`);
    extension = { profile, data: buf.subarray(offset + 4, end) };
    offset = end;
  }

  let end = buf.length;
  let paddingBytes = 0;
  if (padding) {
    paddingBytes = buf[buf.length - 1];
    if (paddingBytes === 0 || offset + paddingBytes > buf.length) {
      return fail("bad_padding", `padding count ${paddingBytes} does not fit the packet`);
    }
    end -= paddingBytes;
  }

  return {
    ok: true,
    packet: {
      version: RTP_VERSION,
      padding,
      marker: (buf[1] & 0x80) !== 0,
      payloadType: buf[1] & 0x7f,
      sequenceNumber: view.getUint16(2),
      timestamp: view.getUint32(4),
      ssrc: view.getUint32(8),
      csrcs,
      extension,
      payload: buf.subarray(offset, end),
      paddingBytes,
    },
  };
}

export interface RtpBuildFields {
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  payload: Uint8Array;
  marker?: boolean;
  csrcs?: number[];
  extension?: RtpHeaderExtension;
  /** pad the packet with this many bytes (1..255), e.g. to a block size */
  paddingBytes?: number;
}

export class RtpBuildError extends Error {
  override name = "RtpBuildError";
}

/** serialise an RTP packet (RFC 3550 §5.1); throws RtpBuildError on out-of-range fields */
/** read only: no array per packet built without CSRCs */
const NO_CSRCS: readonly number[] = [];

export function buildRtp(f: RtpBuildFields): Uint8Array {
  const csrcs = f.csrcs ?? NO_CSRCS;
  const pad = f.paddingBytes ?? 0;
  if (!Number.isInteger(f.payloadType) || f.payloadType < 0 || f.payloadType > 127) {
    throw new RtpBuildError(`payload type ${f.payloadType} out of 0..127`);
  }
  if (f.payloadType >= 64 && f.payloadType <= 95) {
    throw new RtpBuildError(`payload type ${f.payloadType} collides with RTCP on a muxed port (RFC 5761 §4)`);
  }
  if (csrcs.length > 15) throw new RtpBuildError(`at most 15 CSRCs, got ${csrcs.length}`);
  if (!Number.isInteger(pad) || pad < 0 || pad > 255) throw new RtpBuildError(`padding ${pad} out of 0..255`);
  const ext = f.extension;
  if (ext && ext.data.length % 4 !== 0)
    throw new RtpBuildError("extension data must be a multiple of 4 bytes");
  if (ext && ext.data.length / 4 > 0xffff) throw new RtpBuildError("extension data too long");

  const extBytes = ext ? 4 + ext.data.length : 0;
  const size = RTP_HEADER_BYTES + csrcs.length * 4 + extBytes + f.payload.length + pad;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = (RTP_VERSION << 6) | (pad > 0 ? 0x20 : 0) | (ext ? 0x10 : 0) | csrcs.length;
  out[1] = (f.marker ? 0x80 : 0) | f.payloadType;
  view.setUint16(2, f.sequenceNumber & 0xffff);
  view.setUint32(4, f.timestamp >>> 0);
  view.setUint32(8, f.ssrc >>> 0);
  let offset = RTP_HEADER_BYTES;
  for (const c of csrcs) {
    view.setUint32(offset, c >>> 0);
    offset += 4;
  }
  if (ext) {
    view.setUint16(offset, ext.profile & 0xffff);
    view.setUint16(offset + 2, ext.data.length / 4);
    out.set(ext.data, offset + 4);
    offset += extBytes;
  }
  out.set(f.payload, offset);
  if (pad > 0) out[size - 1] = pad;
  return out;
}
