// What the peer's Opus fmtp says it takes (RFC 7587 §6.1), honoured by the encoder that sends to
// it: `maxaveragebitrate` caps our bitrate, `maxplaybackrate` our audio bandwidth, and in-band
// FEC is coded only for a peer whose offer says `useinbandfec=1`. Read back from libopus, and
// measured on the packets themselves (their sizes, their TOC's bandwidth — RFC 6716 §3.1).
import { describe, expect, it } from "vitest";
import { OPUS_BANDWIDTH, OPUS_CTL } from "../../../src/audio/codecs/opus-wasm.js";
import { codecSpecOf } from "../../../src/media/profiles/codec.js";
import { parseRtp } from "../../../src/media/rtp/packet.js";
import { AudioSender, VOICE_OPUS_BITRATE } from "../../../src/media/send/audio-sender.js";

const opus = (fmtp?: string) =>
  codecSpecOf({ name: "opus", payloadType: 111, clockRate: 48000, channels: 2, ...(fmtp ? { fmtp } : {}) });

/** 2 s of a voiced, moving signal at 16 kHz (a sweep with an envelope and a little noise) */
function voice(): Int16Array {
  const pcm = new Int16Array(32000);
  let phase = 0;
  for (let i = 0; i < pcm.length; i++) {
    const t = i / 16000;
    phase += (2 * Math.PI * (160 + 60 * Math.sin(2 * Math.PI * 3 * t))) / 16000;
    let s = 0;
    for (let h = 1; h <= 12; h++) s += Math.sin(h * phase) / h;
    pcm[i] = Math.round(5000 * s * (0.6 + 0.4 * Math.sin(2 * Math.PI * 4 * t)) + (Math.random() - 0.5) * 600);
  }
  return pcm;
}

/** send `voice()` through an AudioSender for `fmtp`; the packets' payloads and the sender */
function send(fmtp?: string) {
  const payloads: Uint8Array[] = [];
  const sender = new AudioSender({
    codec: opus(fmtp),
    rate: 16000,
    out: {
      ssrc: 7,
      send: (p) => {
        const r = parseRtp(p);
        if (!r.ok) throw new Error(r.error.message);
        payloads.push(r.packet.payload);
      },
    },
  });
  const pcm = voice();
  for (let i = 0; i < pcm.length; i += 320)
    sender.onFrame({ samples: pcm.subarray(i, i + 320), rate: 16000, channels: 1, pts: i });
  const kbps = (payloads.reduce((n, p) => n + p.length, 0) * 8) / (payloads.length * 20);
  return { sender, payloads, kbps };
}

/** RFC 6716 §3.1: the TOC's config (its top 5 bits) → the coded bandwidth */
function tocBandwidth(toc: number): "NB" | "MB" | "WB" | "SWB" | "FB" {
  const c = toc >> 3;
  if (c < 12) return (["NB", "MB", "WB"] as const)[c >> 2]!;
  if (c < 16) return c < 14 ? "SWB" : "FB";
  return (["NB", "WB", "SWB", "FB"] as const)[(c - 16) >> 2]!;
}

describe("the encoder honours what the peer's Opus fmtp says it takes", () => {
  it("codecSpecOf reads maxaveragebitrate, maxplaybackrate and useinbandfec, bringing values into RFC 7587's ranges", () => {
    expect(opus("minptime=10;useinbandfec=1").remote).toEqual({ inbandFec: true });
    expect(opus().remote).toEqual({ inbandFec: false });
    expect(opus("maxaveragebitrate=12000;maxplaybackrate=8000;useinbandfec=0").remote).toEqual({
      inbandFec: false,
      maxAverageBitrate: 12000,
      maxPlaybackRate: 8000,
    });
    expect(opus("maxaveragebitrate=1000;maxplaybackrate=96000").remote).toEqual({
      inbandFec: false,
      maxAverageBitrate: 6000,
      maxPlaybackRate: 48000,
    });
    expect(opus("maxaveragebitrate=lots").remote).toEqual({ inbandFec: false });
    // a G.711 spec has nothing of the kind
    expect(
      codecSpecOf({ name: "pcmu", payloadType: 0, clockRate: 8000, channels: 1 }).remote,
    ).toBeUndefined();
  });

  it("a Chromium-like peer (useinbandfec=1, no limits): our 32 kbps, FEC on, full bandwidth", () => {
    const r = send("minptime=10;useinbandfec=1");
    expect(r.sender.encoderSetting(OPUS_CTL.GET_BITRATE)).toBe(VOICE_OPUS_BITRATE);
    expect(r.sender.encoderSetting(OPUS_CTL.GET_INBAND_FEC)).toBe(1);
    expect(r.sender.encoderSetting(OPUS_CTL.GET_MAX_BANDWIDTH)).toBe(OPUS_BANDWIDTH.fullband);
    expect(r.kbps).toBeGreaterThan(20);
    // 16 kHz input: wideband
    expect(new Set(r.payloads.map((p) => tocBandwidth(p[0]!)))).toEqual(new Set(["WB"]));
  });

  it("maxaveragebitrate=12000: at most 12 kbps on the wire; a peer that takes more still gets our 32", () => {
    const low = send("maxaveragebitrate=12000;useinbandfec=1");
    expect(low.sender.encoderSetting(OPUS_CTL.GET_BITRATE)).toBe(12000);
    expect(low.kbps).toBeLessThanOrEqual(12 * 1.1);
    const high = send("maxaveragebitrate=128000;useinbandfec=1");
    expect(high.sender.encoderSetting(OPUS_CTL.GET_BITRATE)).toBe(VOICE_OPUS_BITRATE);
  });

  it("maxplaybackrate=8000: narrowband packets only", () => {
    const r = send("maxplaybackrate=8000;useinbandfec=1");
    expect(r.sender.encoderSetting(OPUS_CTL.GET_MAX_BANDWIDTH)).toBe(OPUS_BANDWIDTH.narrowband);
    expect(new Set(r.payloads.map((p) => tocBandwidth(p[0]!)))).toEqual(new Set(["NB"]));
  });

  it("no useinbandfec (RFC 7587's default 0: aiortc's offer has no fmtp at all): no FEC coded", () => {
    const none = send();
    expect(none.sender.encoderSetting(OPUS_CTL.GET_INBAND_FEC)).toBe(0);
    const off = send("useinbandfec=0");
    expect(off.sender.encoderSetting(OPUS_CTL.GET_INBAND_FEC)).toBe(0);
  });
});
