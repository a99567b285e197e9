// Offer validation: an SDP offer is accepted only if it is well-formed, small, and carries
// exactly one audio m-line we can decode (Opus 48 kHz, else PCMU/PCMA 8 kHz). Video m-lines (OBS
// and most WHIP clients offer them) are allowed beside it: JSEP (RFC 8829 §5.3.1) answers every
// offered m-line in order, and libdatachannel answers a video m-line we have no track for with
// the reverse direction; the node discards whatever arrives on it (see peer-session.ts).
// Everything the peer needs to answer is extracted here, once, with a typed error for every refusal.
import { parse } from "sdp-transform";
import { MAX_SDP_BYTES } from "../../control/contract.js";
import type { SessionKind } from "../../registry/types.js";
import { sdpGrammarError } from "../../sdp/grammar.js";
import { OfferError } from "./errors.js";

export type CodecName = "opus" | "pcmu" | "pcma";
export type Direction = "sendrecv" | "sendonly" | "recvonly" | "inactive";

export interface NegotiatedCodec {
  name: CodecName;
  payloadType: number;
  clockRate: number;
  channels: number;
  /** the offer's fmtp for this payload type, echoed in the answer (e.g. useinbandfec=1) */
  fmtp?: string;
}

export interface ValidatedOffer {
  sdp: string;
  /** mid of the audio m-line (BUNDLE needs one) */
  audioMid: string;
  codec: NegotiatedCodec;
  /** the offerer's direction on the audio m-line */
  offerDirection: Direction;
  /** our direction in the answer (RFC 3264 §6.1: the reverse of the offer's, narrowed by the kind) */
  answerDirection: Exclude<Direction, "inactive">;
  /** the offer has an application m-line (datachannels) */
  dataChannel: boolean;
  /** mids of the offered video m-lines: answered, their packets discarded */
  ignoredMids: string[];
  /** per offered video m-line, the codec our `inactive` answer names (none: libdatachannel's
   *  own answer, the reverse direction, is kept) */
  ignoredVideo: IgnoredVideo[];
  iceUfrag: string;
  icePwd: string;
  /** RFC 4733 telephone-event offered at the audio codec's clock rate (the caller's keypad) */
  telephoneEvent?: { payloadType: number; clockRate: number };
}

export interface IgnoredVideo {
  mid: string;
  codec?: { payloadType: number; name: string; fmtp?: string };
}

/** payload formats that are not a codec of their own (RFC 4588 rtx, RFC 2198 red, FEC) */
const NOT_A_VIDEO_CODEC = new Set(["rtx", "red", "ulpfec", "flexfec-03", "flexfec"]);

const STATIC_PT: Record<number, CodecName> = { 0: "pcmu", 8: "pcma" };

/** What a session of this kind wants to do with audio, from our side. */
const WANTED: Record<SessionKind, { send: boolean; recv: boolean }> = {
  session: { send: true, recv: true },
  whip: { send: false, recv: true },
  whep: { send: true, recv: false },
};

/** how a message names each kind of session */
const KIND_NAME: Record<SessionKind, string> = {
  session: "a session",
  whip: "a WHIP session",
  whep: "a WHEP listener",
};

/**
 * `prefer`: a codec to take over the usual order when the offer has it — a WHEP listener of a
 * source whose packets are relayed as they are (no decoder: see session-media.ts, feedListener)
 * can only be sent the source's own codec.
 */
export function validateOffer(sdp: string, kind: SessionKind, prefer?: CodecName): ValidatedOffer {
  const bytes = Buffer.byteLength(sdp, "utf8");
  if (bytes > MAX_SDP_BYTES) throw OfferError.tooLarge(bytes, MAX_SDP_BYTES);
  const grammar = sdpGrammarError(sdp);
  if (grammar) throw OfferError.malformed(`the offer is not valid SDP: ${grammar}`);

  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(sdp);
  } catch (e) {
    throw OfferError.malformed(`the offer does not parse as SDP: ${(e as Error).message}`);
  }
  const media = parsed.media ?? [];
  if (media.length === 0) throw OfferError.malformed("the offer has no m-line");

  const audio = media.filter((m) => m.type === "audio");
  const others = media.filter((m) => !["audio", "video", "application"].includes(m.type));
  if (others.length > 0)
    throw OfferError.unsupported(
      `only audio, video (ignored) and datachannel m-lines are supported; the offer has ${others.map((m) => m.type).join(", ")}`,
    );
  if (audio.length === 0)
    throw OfferError.unsupported(
      "the offer has no audio m-line: one is required (video m-lines are answered but ignored)",
    );
  if (audio.length !== 1)
    throw OfferError.unsupported(`the offer must have exactly one audio m-line (it has ${audio.length})`);
  const video = media.filter((m) => m.type === "video");
  // BUNDLE (RFC 9143) and libdatachannel's per-mid tracks need every m-line to have a mid
  if (video.some((v) => v.mid === undefined || String(v.mid) === ""))
    throw OfferError.malformed("a video m-line has no a=mid (required for BUNDLE)");
  const m = audio[0]!;
  if (m.port === 0) throw OfferError.unsupported("the audio m-line is disabled (port 0)");
  if (m.mid === undefined || String(m.mid) === "")
    throw OfferError.malformed("the audio m-line has no a=mid (required for BUNDLE)");

  const iceUfrag = m.iceUfrag ?? parsed.iceUfrag;
  const icePwd = m.icePwd ?? parsed.icePwd;
  if (!iceUfrag || !icePwd) throw OfferError.malformed("the offer has no a=ice-ufrag / a=ice-pwd");
  if (!m.fingerprint && !parsed.fingerprint)
    throw OfferError.malformed("the offer has no a=fingerprint (DTLS-SRTP is required)");

  // RTP carries 7 bits of payload type (RFC 3550 §5.1): a format outside 0–127 can match no packet
  const badPt = formatsOf(m).find((pt) => !/^\d{1,3}$/.test(pt) || Number(pt) > 127);
  if (badPt !== undefined)
    throw OfferError.malformed(
      `the audio m-line lists payload type ${badPt.slice(0, 16)}: RTP payload types are 0–127 (RFC 3550)`,
    );
  const codec = pickCodec(m, prefer);
  if (!codec)
    throw OfferError.unsupported(
      "the audio m-line offers no supported codec: Opus 48 kHz, PCMU or PCMA 8 kHz are accepted",
    );

  const offerDirection = (m.direction ?? parsed.direction ?? "sendrecv") as Direction;
  const offerSends = offerDirection === "sendrecv" || offerDirection === "sendonly";
  const offerRecvs = offerDirection === "sendrecv" || offerDirection === "recvonly";
  const want = WANTED[kind];
  const weSend = want.send && offerRecvs;
  const weRecv = want.recv && offerSends;
  if (!weSend && !weRecv)
    throw OfferError.unsupported(
      `${KIND_NAME[kind]} needs an audio m-line that ${want.recv ? "sends" : "receives"} audio; the offer's is ${offerDirection}`,
    );
  if (kind === "whip" && !offerSends)
    throw OfferError.unsupported(
      `a WHIP offer must send audio (sendonly or sendrecv); it is ${offerDirection}`,
    );
  if (kind === "whep" && !offerRecvs)
    throw OfferError.unsupported(
      `a WHEP offer must receive audio (recvonly or sendrecv); it is ${offerDirection}`,
    );

  // RFC 4733 §7.1.1: the telephone-event's clock rate must be the audio codec's; and only a format
  // the m-line lists is offered (an a=rtpmap alone is not: RFC 3264 §6.1 answers none other)
  const listed = new Set(formatsOf(m).map(Number));
  const te = (m.rtp ?? []).find(
    // String(): sdp-transform types what it parsed, not what it was given (a=rtpmap: 96 … makes codec a number)
    (r) =>
      String(r.codec).toLowerCase() === "telephone-event" &&
      r.rate === codec.clockRate &&
      listed.has(r.payload),
  );
  return {
    ...(te ? { telephoneEvent: { payloadType: te.payload, clockRate: te.rate! } } : {}),
    sdp,
    audioMid: String(m.mid),
    codec,
    offerDirection,
    answerDirection: weSend && weRecv ? "sendrecv" : weSend ? "sendonly" : "recvonly",
    dataChannel: media.some((x) => x.type === "application"),
    ignoredMids: video.map((v) => String(v.mid)),
    ignoredVideo: video.map(videoToIgnore),
    iceUfrag,
    icePwd,
  };
}

type AudioMedia = ReturnType<typeof parse>["media"][number];

/** the formats (payload types) an m-line lists, as written */
function formatsOf(m: AudioMedia): string[] {
  return String(m.payloads ?? "")
    .split(/\s+/)
    .filter(Boolean);
}

/** The offer's first real video codec (m-line order is its preference, RFC 3264 §5.1). */
function videoToIgnore(m: AudioMedia): IgnoredVideo {
  const mid = String(m.mid);
  if (m.port === 0) return { mid };
  for (const pt of formatsOf(m).map(Number)) {
    const rtp = m.rtp.find((r) => r.payload === pt);
    if (!rtp || NOT_A_VIDEO_CODEC.has(rtp.codec.toLowerCase())) continue;
    const fmtp = m.fmtp.find((f) => f.payload === pt)?.config;
    return { mid, codec: { payloadType: pt, name: rtp.codec, ...(fmtp ? { fmtp } : {}) } };
  }
  return { mid };
}

/** Opus first (RFC 7587: always opus/48000/2 in SDP), then PCMU, then PCMA; `prefer` before them. */
function pickCodec(m: AudioMedia, prefer?: CodecName): NegotiatedCodec | undefined {
  const pts = formatsOf(m).map(Number);
  const found: NegotiatedCodec[] = [];
  for (const pt of pts) {
    const rtp = m.rtp.find((r) => r.payload === pt);
    const name = rtp?.codec.toLowerCase() ?? STATIC_PT[pt];
    const fmtp = m.fmtp.find((f) => f.payload === pt)?.config;
    if (name === "opus" && (rtp?.rate ?? 48000) === 48000)
      found.push({
        name: "opus",
        payloadType: pt,
        clockRate: 48000,
        channels: rtp?.encoding ? Number(rtp.encoding) : 2,
        ...(fmtp ? { fmtp } : {}),
      });
    else if ((name === "pcmu" || name === "pcma") && (rtp?.rate ?? 8000) === 8000)
      found.push({ name, payloadType: pt, clockRate: 8000, channels: 1 });
  }
  for (const want of [...(prefer ? [prefer] : []), "opus", "pcmu", "pcma"] as const) {
    const c = found.find((f) => f.name === want);
    if (c) return c;
  }
  return undefined;
}
