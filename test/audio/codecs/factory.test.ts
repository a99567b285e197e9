import sdpTransform from "sdp-transform";
import { describe, expect, it } from "vitest";
import {
  codecSpecFromRtpmap,
  codecSpecFromRtpmapText,
  createDecoder,
  createEncoder,
  firstSupportedCodec,
  G711Decoder,
  OpusDecoder,
  OpusEncoder,
  UnsupportedCodecError,
} from "../../../src/audio/codecs/index.js";

const chromeOffer = [
  "v=0",
  "o=- 1 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
  "c=IN IP4 0.0.0.0",
  "a=rtpmap:111 opus/48000/2",
  "a=fmtp:111 minptime=10;useinbandfec=1",
  "a=rtpmap:63 red/48000/2",
  "a=rtpmap:9 G722/8000",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:13 CN/8000",
  "a=rtpmap:110 telephone-event/48000",
  "a=rtpmap:126 telephone-event/8000",
  "",
].join("\r\n");

describe("codec factory", () => {
  it("maps rtpmap entries to codec specs (Opus mono unless stereo=1)", () => {
    expect(codecSpecFromRtpmap({ payload: 111, codec: "opus", rate: 48000, encoding: 2 })).toEqual({
      codec: "opus",
      payloadType: 111,
      clockRate: 48000,
      channels: 1,
    });
    expect(codecSpecFromRtpmapText(111, "opus/48000/2", "minptime=10;stereo=1;useinbandfec=1").channels).toBe(
      2,
    );
    expect(codecSpecFromRtpmapText(0, "PCMU/8000")).toEqual({
      codec: "pcmu",
      payloadType: 0,
      clockRate: 8000,
      channels: 1,
    });
    expect(codecSpecFromRtpmapText(8, "PCMA/8000").codec).toBe("pcma");
    expect(() => codecSpecFromRtpmapText(9, "G722/8000")).toThrow(UnsupportedCodecError);
    expect(() => codecSpecFromRtpmapText(0, "PCMU/16000")).toThrow(UnsupportedCodecError);
    expect(() => codecSpecFromRtpmapText(111, "opus/44100/2")).toThrow(UnsupportedCodecError);
  });

  it("picks the first supported codec of a real offer in m= order", () => {
    const media = sdpTransform.parse(chromeOffer).media[0];
    expect(firstSupportedCodec(media)).toEqual({
      codec: "opus",
      payloadType: 111,
      clockRate: 48000,
      channels: 1,
    });
    const g711Only = { ...media, payloads: "9 8 0", rtp: media.rtp.filter((r) => r.codec !== "opus") };
    expect(firstSupportedCodec(g711Only)?.codec).toBe("pcma");
    expect(firstSupportedCodec({ rtp: [{ payload: 9, codec: "G722", rate: 8000 }] })).toBeUndefined();
  });

  it("creates decoders and encoders by name or spec", () => {
    expect(createDecoder("opus")).toBeInstanceOf(OpusDecoder);
    expect(createDecoder({ codec: "opus", channels: 2 }).channels).toBe(2);
    expect(createDecoder("pcmu")).toBeInstanceOf(G711Decoder);
    expect(createEncoder("opus", { bitrate: 24000 })).toBeInstanceOf(OpusEncoder);
    expect(createEncoder("pcma").codec).toBe("pcma");
    expect(() => createDecoder("g722" as "opus")).toThrow(UnsupportedCodecError);
  });
});
