// The codec a session negotiated, as the node's offer validation names it, turned into the
// pipeline's CodecSpec here (inside src/media: the node never reaches into src/audio).
import { codecSpecFromRtpmap } from "../../audio/codecs/factory.js";
import type { CodecName, CodecSpec } from "../../audio/codecs/types.js";

export interface NegotiatedCodec {
  name: CodecName;
  payloadType: number;
  clockRate: number;
  channels: number;
  /** the offer's fmtp for this payload type (stereo=1 decides Opus's channels) */
  fmtp?: string;
}

export function codecSpecOf(c: NegotiatedCodec): CodecSpec {
  return codecSpecFromRtpmap(
    {
      payload: c.payloadType,
      codec: c.name,
      rate: c.clockRate,
      ...(c.name === "opus" ? { encoding: 2 } : {}),
    },
    c.fmtp,
  );
}
