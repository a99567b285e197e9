// Build codecs by name or from an SDP rtpmap line ("opus/48000/2", "PCMU/8000").

import { CodecOptionsError, UnsupportedCodecError } from "./errors.js";
import { G711Decoder, G711Encoder } from "./g711-codec.js";
import { OpusDecoder, OpusEncoder, type OpusEncoderOptions } from "./opus.js";
import type { AudioDecoder, AudioEncoder, CodecName, CodecSpec } from "./types.js";

/** the rtpmap as sdp-transform parses it (`media.rtp[]`), plus that payload's fmtp config */
export interface RtpmapEntry {
  payload: number;
  codec: string;
  rate?: number;
  encoding?: number;
}

/** parse an fmtp config string ("minptime=10;useinbandfec=1;stereo=1") into a map */
export function parseFmtp(config: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (config ?? "").split(";")) {
    const [k, v] = part.split("=");
    if (k?.trim()) out.set(k.trim().toLowerCase(), (v ?? "").trim());
  }
  return out;
}

/**
 * The CodecSpec for one rtpmap entry, or UnsupportedCodecError. Opus must be opus/48000/2
 * (RFC 7587 §7); it is decoded to stereo only when fmtp says stereo=1, else mono (libopus
 * downmixes). PCMU/PCMA must be 8000 Hz mono (RFC 3551 §4.5.14).
 */
export function codecSpecFromRtpmap(entry: RtpmapEntry, fmtpConfig?: string): CodecSpec {
  const name = entry.codec.toLowerCase();
  const rate = entry.rate ?? (name === "opus" ? 48000 : 8000);
  if (name === "opus" && rate === 48000) {
    const stereo = parseFmtp(fmtpConfig).get("stereo") === "1";
    return { codec: "opus", payloadType: entry.payload, clockRate: 48000, channels: stereo ? 2 : 1 };
  }
  if ((name === "pcmu" || name === "pcma") && rate === 8000 && (entry.encoding ?? 1) === 1) {
    return { codec: name, payloadType: entry.payload, clockRate: 8000, channels: 1 };
  }
  throw new UnsupportedCodecError(`${entry.codec}/${rate}${entry.encoding ? `/${entry.encoding}` : ""}`);
}

/** parse "opus/48000/2" style text (the part after the payload type in a=rtpmap) */
export function codecSpecFromRtpmapText(payloadType: number, rtpmap: string, fmtpConfig?: string): CodecSpec {
  const [codec, rate, encoding] = rtpmap.trim().split("/");
  return codecSpecFromRtpmap(
    {
      payload: payloadType,
      codec: codec ?? "",
      rate: Number(rate),
      encoding: encoding ? Number(encoding) : undefined,
    },
    fmtpConfig,
  );
}

/** the first codec of an m= section (sdp-transform shape) that the gateway can decode */
export function firstSupportedCodec(media: {
  rtp: RtpmapEntry[];
  fmtp?: { payload: number; config: string }[];
  payloads?: string | number;
}): CodecSpec | undefined {
  // m= line order is the offerer's preference order (RFC 3264 §5.1)
  const order = String(media.payloads ?? "")
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  const entries = [...media.rtp].sort((a, b) => {
    const ia = order.indexOf(a.payload);
    const ib = order.indexOf(b.payload);
    return (ia < 0 ? 1e9 : ia) - (ib < 0 ? 1e9 : ib);
  });
  for (const entry of entries) {
    try {
      return codecSpecFromRtpmap(entry, media.fmtp?.find((f) => f.payload === entry.payload)?.config);
    } catch {
      // not ours (telephone-event, red, CN …): try the next one
    }
  }
  return undefined;
}

export interface DecoderOptions {
  /** output rate for a codec that can decode at several (Opus: 8/12/16/24/48 kHz); G.711 is 8 kHz */
  rate?: number;
}

export function createDecoder(
  spec: Pick<CodecSpec, "codec" | "channels"> | CodecName,
  options: DecoderOptions = {},
): AudioDecoder {
  const s = typeof spec === "string" ? { codec: spec, channels: 1 as const } : spec;
  switch (s.codec) {
    case "opus":
      return new OpusDecoder({ channels: s.channels, rate: options.rate }); // it checks the rate
    case "pcmu":
    case "pcma":
      if (options.rate !== undefined && options.rate !== 8000)
        throw new CodecOptionsError(`${s.codec} decodes at 8000 Hz only, not ${options.rate}`);
      return new G711Decoder(s.codec);
    default:
      throw new UnsupportedCodecError(String(s.codec));
  }
}

export function createEncoder(
  spec: Pick<CodecSpec, "codec" | "channels"> | CodecName,
  opus: Omit<OpusEncoderOptions, "channels"> = {},
): AudioEncoder {
  const s = typeof spec === "string" ? { codec: spec, channels: 1 as const } : spec;
  switch (s.codec) {
    case "opus":
      return new OpusEncoder({ ...opus, channels: s.channels });
    case "pcmu":
    case "pcma":
      return new G711Encoder(s.codec);
    default:
      throw new UnsupportedCodecError(String(s.codec));
  }
}
