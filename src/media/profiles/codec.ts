// The codec a session negotiated, as the node's offer validation names it, turned into the
// pipeline's CodecSpec here (inside src/media: the node never reaches into src/audio).
import { codecSpecFromRtpmap, parseFmtp } from "../../audio/codecs/factory.js";
import type { CodecName, CodecSpec } from "../../audio/codecs/types.js";

export interface NegotiatedCodec {
  name: CodecName;
  payloadType: number;
  clockRate: number;
  channels: number;
  /** the offer's fmtp for this payload type (sprop-stereo=1: the caller sends stereo) */
  fmtp?: string;
}

/**
 * The pipeline's codec for a negotiated one: Opus decoded (and, toward a WHEP listener, encoded)
 * mono. The offer's `stereo=1` is what the *caller* prefers to receive (RFC 7587 §7.1: Firefox
 * offers it with a mono microphone), not what it sends: read as our channel count it decoded
 * every such caller in stereo only to downmix it. A profile that wants the caller's stereo asks
 * for 2 channels itself (record, on `sendsStereo`).
 */
export function codecSpecOf(c: NegotiatedCodec): CodecSpec {
  const spec = codecSpecFromRtpmap({
    payload: c.payloadType,
    codec: c.name,
    rate: c.clockRate,
    ...(c.name === "opus" ? { encoding: 2 } : {}),
  });
  return c.name === "opus" ? { ...spec, remote: opusRemote(c.fmtp) } : spec;
}

/**
 * What the peer's Opus fmtp says it takes (RFC 7587 §6.1), for our encoder sending to it: a
 * value out of the RFC's range is brought into it (6000..510000 bits/s, 8000..48000 Hz); one
 * that is not a number is not a limit.
 */
function opusRemote(fmtp: string | undefined): NonNullable<CodecSpec["remote"]> {
  const p = parseFmtp(fmtp);
  const int = (k: string, min: number, max: number) => {
    const v = Number(p.get(k));
    return p.has(k) && Number.isFinite(v) && v > 0 ? Math.min(max, Math.max(min, Math.round(v))) : undefined;
  };
  const maxAverageBitrate = int("maxaveragebitrate", 6000, 510000);
  const maxPlaybackRate = int("maxplaybackrate", 8000, 48000);
  return {
    inbandFec: p.get("useinbandfec") === "1",
    ...(maxAverageBitrate !== undefined ? { maxAverageBitrate } : {}),
    ...(maxPlaybackRate !== undefined ? { maxPlaybackRate } : {}),
  };
}

/**
 * The caller says it sends stereo: Opus with `sprop-stereo=1` in the offer's fmtp (RFC 7587
 * §7.1: "the sender is likely to produce stereo audio"). What a record session records in stereo
 * (docs/pipeline.md, "Stereo callers"). `stereo=1` alone is not it: that is what the offerer
 * prefers to *receive* (Firefox offers it with a mono microphone).
 */
export function sendsStereo(c: Pick<NegotiatedCodec, "name" | "fmtp">): boolean {
  return c.name === "opus" && parseFmtp(c.fmtp).get("sprop-stereo") === "1";
}
