// Content checks on a posted body before any node or registry work: RFC 9725 §4.2 says the offer
// is application/sdp; we refuse oversized (413), malformed (400) and unusable (422) offers early
// and cheaply. The media node validates again (it is the authority) and its 4xx are passed on.
import { parse } from "sdp-transform";
import { MAX_SDP_BYTES } from "../control/contract.js";
import { sdpFragGrammarError, sdpGrammarError } from "../sdp/grammar.js";
import { badRequest, HttpError, unsupportedMediaType } from "./errors.js";
import { bodyBytes, type Event, mediaType } from "./request.js";

const SUPPORTED_CODECS = new Set(["opus", "pcmu", "pcma"]);
const STATIC_PT: Record<string, string> = { "0": "pcmu", "8": "pcma" };

/** The body of a request that must be `type`, at most MAX_SDP_BYTES, as a string. */
export function sdpBody(event: Event, type: "application/sdp" | "application/trickle-ice-sdpfrag"): string {
  const got = mediaType(event);
  if (got !== type) throw unsupportedMediaType(type, got);
  const bytes = bodyBytes(event);
  if (bytes.length > MAX_SDP_BYTES)
    throw new HttpError(
      413,
      "sdp-too-large",
      `the body is ${bytes.length} bytes; at most ${MAX_SDP_BYTES} are accepted`,
    );
  if (bytes.length === 0) throw badRequest("empty-body", `the ${type} body is empty`);
  return bytes.toString("utf8");
}

/** RFC 8840 fragment lines checked against RFC 8866's grammar (400 naming the line). */
export function checkSdpFrag(frag: string): void {
  const grammar = sdpFragGrammarError(frag);
  if (grammar) throw badRequest("bad-sdpfrag", `the fragment is not valid SDP: ${grammar}`);
}

/** Structure and codec checks on an offer (400 malformed, 422 unsupported). */
export function checkOffer(sdp: string): void {
  const grammar = sdpGrammarError(sdp);
  if (grammar) throw badRequest("malformed-sdp", `the offer is not valid SDP: ${grammar}`);
  let media: ReturnType<typeof parse>["media"];
  try {
    media = parse(sdp).media ?? [];
  } catch (e) {
    throw badRequest("malformed-sdp", `the offer does not parse as SDP: ${(e as Error).message}`);
  }
  if (!/\r?\no=/.test(sdp) || media.length === 0)
    throw badRequest("malformed-sdp", "the offer needs an o= line and at least one m= line");
  const audio = media.filter((m) => m.type === "audio" && m.port !== 0);
  if (audio.length === 0) throw new HttpError(422, "unsupported-offer", "the offer has no audio m-line");
  if (audio.length > 1)
    throw new HttpError(
      422,
      "unsupported-offer",
      `the offer must have exactly one audio m-line (it has ${audio.length})`,
    );
  const m = audio[0]!;
  const pts = String(m.payloads ?? "")
    .split(/\s+/)
    .filter(Boolean);
  const names = pts.map(
    (pt) => m.rtp.find((r) => String(r.payload) === pt)?.codec.toLowerCase() ?? STATIC_PT[pt],
  );
  if (!names.some((n) => n !== undefined && SUPPORTED_CODECS.has(n)))
    throw new HttpError(
      422,
      "unsupported-offer",
      "the audio m-line offers no supported codec: Opus 48 kHz, PCMU or PCMA 8 kHz are accepted",
    );
}
