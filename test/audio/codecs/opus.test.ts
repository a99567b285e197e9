import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import {
  CodecDestroyedError,
  CodecOptionsError,
  DecodeError,
  EncodeError,
  OPUS_CTL,
  OpusDecoder,
  OpusEncoder,
  opusPacketSamples,
  opusWasm,
  SIMD_PROBE,
} from "../../../src/audio/codecs/index.js";
import { toneFrame } from "../../support/rtp-stream.js";
import { concat, db, dominantHz, goertzelAmplitude, rmsOf } from "./tone-analysis.js";

const require = createRequire(import.meta.url);

function encodeTone(hz: number, frames: number, enc = new OpusEncoder()): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let f = 0; f < frames; f++) out.push(enc.encode(toneFrame(f, 48000, hz, 8000)));
  return out;
}

describe("Opus through @evan/opus's WASM build", () => {
  it("decodes on the package's .wasm file; its native addon is loaded for the encoder alone", () => {
    new OpusDecoder().destroy();
    const { file, simd } = opusWasm().info;
    expect(file).toMatch(/node_modules\/@evan\/opus\/wasm\/(simd|opus)\.wasm$/);
    expect(simd).toBe(WebAssembly.validate(SIMD_PROBE));
    expect(opusWasm().exports.memory).toBeInstanceOf(WebAssembly.Memory);
    // the decoder never loads a native module; the encoder may (opus-encoder-state.ts), and only @evan/opus's
    const natives = Object.keys(require.cache).filter((k) => k.endsWith(".node"));
    for (const k of natives) expect(k).toMatch(/node_modules\/@evan\/opus\/node\/[a-z0-9]+-[a-z0-9]+\.node$/);
  });

  it("decodes bit-exactly like the package's own WASM Decoder", () => {
    const pkg = require("@evan/opus/wasm/index.js") as {
      Decoder: new (o: { channels: number; sample_rate: number }) => { decode(b: Uint8Array): Uint8Array };
    };
    const theirs = new pkg.Decoder({ channels: 1, sample_rate: 48000 });
    const ours = new OpusDecoder({ channels: 1 });
    for (const p of encodeTone(1000, 20)) {
      const a = ours.decode(p);
      const b = theirs.decode(p);
      expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b))).toBe(true);
    }
  });

  it("decodeInto() writes the same samples as decode() into the caller's reused buffer, and refuses one too small", () => {
    const a = new OpusDecoder({ channels: 1, rate: 16000 });
    const b = new OpusDecoder({ channels: 1, rate: 16000 });
    const buf = new Int16Array(b.maxFrameSamples);
    expect(b.maxFrameSamples).toBe(1920); // 120 ms at 16 kHz
    for (const p of encodeTone(440, 10)) {
      const want = a.decode(p);
      const n = b.decodeInto(p, buf);
      expect(n).toBe(320);
      expect(Array.from(buf.subarray(0, n))).toEqual(Array.from(want));
    }
    expect(() => b.decodeInto(encodeTone(440, 1)[0]!, new Int16Array(320))).toThrow(RangeError);
    expect(() => b.decodeInto(Uint8Array.of(0xff, 0xff, 0xff), buf)).toThrow(DecodeError);
    a.destroy();
    b.destroy();
  });

  it("the package's own PLC (decode of an empty buffer) yields 120 ms, which is why we bind the C API", () => {
    const pkg = require("@evan/opus/wasm/index.js") as {
      Decoder: new (o: { channels: number; sample_rate: number }) => { decode(b: Uint8Array): Uint8Array };
    };
    const d = new pkg.Decoder({ channels: 1, sample_rate: 48000 });
    d.decode(encodeTone(440, 1)[0]);
    expect(d.decode(new Uint8Array(0)).length / 2).toBe(5760);
  });

  for (const hz of [440, 1000]) {
    it(`a ${hz} Hz tone keeps its frequency and level (within 1.5 dB)`, () => {
      const dec = new OpusDecoder();
      const pcm = concat(encodeTone(hz, 50).map((p) => dec.decode(p)));
      const steady = pcm.subarray(48000 * 0.2); // past the codec's start-up
      expect(Math.abs(dominantHz(steady.subarray(0, 9600), 48000) - hz)).toBeLessThanOrEqual(10);
      const inputAmp = 8000;
      expect(Math.abs(db(goertzelAmplitude(steady, 48000, hz) / inputAmp))).toBeLessThan(1.5);
      expect(Math.abs(db(rmsOf(steady) / (inputAmp / Math.SQRT2)))).toBeLessThan(1.5);
    });
  }

  it("encodes 16 kHz input as it is: 320-sample frames, 20 ms packets, the tone back at 48 kHz", () => {
    const enc = new OpusEncoder({ rate: 16000, complexity: 1 });
    expect(enc.frameSize).toBe(320);
    const dec = new OpusDecoder();
    const packets = Array.from({ length: 50 }, (_, f) => enc.encode(toneFrame(f, 16000, 440, 8000)));
    expect(packets.every((p) => opusPacketSamples(p) === 960)).toBe(true); // TOC durations count 48 kHz
    const steady = concat(packets.map((p) => dec.decode(p))).subarray(48000 * 0.2);
    expect(Math.abs(dominantHz(steady.subarray(0, 9600), 48000) - 440)).toBeLessThanOrEqual(10);
    expect(Math.abs(db(goertzelAmplitude(steady, 48000, 440) / 8000))).toBeLessThan(1.5);
    expect(() => enc.encode(new Int16Array(960))).toThrow(EncodeError);
    expect(() => new OpusEncoder({ rate: 44100 })).toThrow(CodecOptionsError);
    expect(() => new OpusEncoder({ rate: 16000, frameSize: 480 })).toThrow(CodecOptionsError); // 30 ms at 16 kHz
    expect(
      opusPacketSamples(new OpusEncoder({ rate: 16000, frameSize: 960 }).encode(new Int16Array(960))),
    ).toBe(2880);
  });

  it("stereo decode of a mono-encoded stream duplicates it into two channels", () => {
    const dec = new OpusDecoder({ channels: 2 });
    const pcm = dec.decode(encodeTone(440, 1)[0]);
    expect(pcm.length).toBe(960 * 2);
  });

  it("PLC returns exactly the asked length and continues the tone instead of silence", () => {
    const dec = new OpusDecoder();
    for (const p of encodeTone(440, 25)) dec.decode(p);
    const plc = dec.conceal(960);
    expect(plc.length).toBe(960);
    expect(dominantHz(plc, 48000)).toBeGreaterThan(400);
    expect(dominantHz(plc, 48000)).toBeLessThan(480);
    expect(rmsOf(plc)).toBeGreaterThan(1000);
    expect(dec.conceal(480).length).toBe(480);
    expect(dec.conceal(500).length).toBe(500); // not a 2.5 ms multiple: rounded up inside, trimmed
    expect(new OpusDecoder({ channels: 2 }).conceal(960).length).toBe(1920);
    expect(() => dec.conceal(0)).toThrow(CodecOptionsError);
    expect(() => dec.conceal(5761)).toThrow(CodecOptionsError);
  });

  it("in-band FEC rebuilds a lost frame from the next packet far better than PLC", () => {
    const enc = new OpusEncoder({ inbandFec: true, packetLossPercent: 20 });
    const packets = encodeTone(1000, 40, enc);
    const reference = new OpusDecoder();
    const truth = packets.map((p) => reference.decode(p))[30];
    const error = (a: Int16Array) => rmsOf(Int16Array.from(a, (v, i) => v - truth[i]));

    const withPlc = new OpusDecoder();
    for (const p of packets.slice(0, 30)) withPlc.decode(p);
    const plc = withPlc.conceal(960);

    const withFec = new OpusDecoder();
    for (const p of packets.slice(0, 30)) withFec.decode(p);
    const fec = withFec.decodeFec(packets[31], 960)!;
    expect(fec.length).toBe(960);
    expect(error(fec)).toBeLessThan(error(plc) / 4);
    // and decoding goes on normally with the packet that carried the FEC
    expect(withFec.decode(packets[31]).length).toBe(960);
    // sizes libopus refuses fall back to the caller's PLC
    expect(withFec.decodeFec(packets[32], 500)).toBeUndefined();
  });

  const reference48k = new OpusDecoder();
  it("decodes straight to 16 kHz (RFC 6716 §2): 320 samples per 20 ms, the tone kept, PLC and FEC in 16 kHz units", () => {
    const packets = encodeTone(440, 40, new OpusEncoder({ inbandFec: true, packetLossPercent: 20 }));
    const dec = new OpusDecoder({ rate: 16000 });
    expect(dec.rate).toBe(16000);
    const pcm = concat(packets.slice(0, 30).map((p) => dec.decode(p)));
    expect(pcm.length).toBe(30 * 320);
    expect(dominantHz(pcm.subarray(3200), 16000)).toBeCloseTo(440, -1);
    // same level as the 48 kHz decode of the same packets (within 1 dB)
    const full = concat(packets.slice(0, 30).map((p) => reference48k.decode(p)));
    expect(Math.abs(db(rmsOf(pcm.subarray(3200)) / rmsOf(full.subarray(9600))))).toBeLessThan(1);
    expect(dec.conceal(320).length).toBe(320);
    expect(dec.decodeFec(packets[31], 320)!.length).toBe(320);
    expect(dec.decodeFec(packets[31], 321)).toBeUndefined(); // not a 2.5 ms multiple at 16 kHz
    expect(() => dec.conceal(1921)).toThrow(CodecOptionsError); // over 120 ms at 16 kHz
    expect(() => new OpusDecoder({ rate: 44100 })).toThrow(CodecOptionsError);
  });

  it("applies the encoder settings (read back through the CTLs)", () => {
    const enc = new OpusEncoder({
      bitrate: 24000,
      complexity: 3,
      inbandFec: true,
      packetLossPercent: 15,
      dtx: true,
    });
    expect(enc.get(OPUS_CTL.GET_BITRATE)).toBe(24000);
    expect(enc.get(OPUS_CTL.GET_COMPLEXITY)).toBe(3);
    expect(enc.get(OPUS_CTL.GET_INBAND_FEC)).toBe(1);
    expect(enc.get(OPUS_CTL.GET_PACKET_LOSS_PERC)).toBe(15);
    expect(enc.get(OPUS_CTL.GET_DTX)).toBe(1);
    const plain = new OpusEncoder({ inbandFec: false });
    expect(plain.get(OPUS_CTL.GET_INBAND_FEC)).toBe(0);
    expect(plain.get(OPUS_CTL.GET_DTX)).toBe(0);
  });

  it("with DTX, silence becomes 1–2 byte packets after a short hangover", () => {
    const enc = new OpusEncoder({ dtx: true });
    encodeTone(440, 10, enc);
    const sizes = Array.from({ length: 40 }, () => enc.encode(new Int16Array(960)).length);
    expect(sizes.slice(20).filter((n) => n <= 2).length).toBeGreaterThan(15);
    const dec = new OpusDecoder();
    const tiny = enc.encode(new Int16Array(960));
    expect(tiny.length).toBeLessThanOrEqual(2);
    expect(dec.decode(tiny).length).toBe(960); // a DTX frame still decodes to 20 ms (comfort noise)
  });

  it("reads packet durations from the TOC (RFC 6716 §3.1)", () => {
    const p = encodeTone(440, 1)[0];
    expect(opusPacketSamples(p)).toBe(960);
    const enc40 = new OpusEncoder({ frameSize: 1920 });
    expect(opusPacketSamples(enc40.encode(new Int16Array(1920)))).toBe(1920);
    expect(opusPacketSamples(new Uint8Array(0))).toBeUndefined();
    expect(opusPacketSamples(Uint8Array.of(0x03))).toBeUndefined(); // code 3 without its count byte
    expect(opusPacketSamples(Uint8Array.of(0x03, 0x3f))).toBeUndefined(); // 63 × 10 ms > 120 ms
  });

  it("rejects bad input with typed errors and stays usable", () => {
    const dec = new OpusDecoder();
    expect(() => dec.decode(new Uint8Array(0))).toThrow(DecodeError);
    // code 3 packet claiming 0 frames: OPUS_INVALID_PACKET
    expect(() => dec.decode(Uint8Array.of(0x03, 0x00))).toThrow(DecodeError);
    expect(dec.decode(encodeTone(440, 1)[0]).length).toBe(960);
    const enc = new OpusEncoder();
    expect(() => enc.encode(new Int16Array(100))).toThrow(EncodeError);
    expect(() => new OpusEncoder({ bitrate: 1 })).toThrow(CodecOptionsError);
    expect(() => new OpusEncoder({ complexity: 11 })).toThrow(CodecOptionsError);
    expect(() => new OpusEncoder({ frameSize: 1000 })).toThrow(CodecOptionsError);
    expect(() => new OpusDecoder({ channels: 3 as 1 })).toThrow(CodecOptionsError);
    dec.destroy();
    dec.destroy(); // idempotent
    expect(() => dec.decode(Uint8Array.of(0xf8))).toThrow(CodecDestroyedError);
    expect(() => dec.conceal(960)).toThrow(CodecDestroyedError);
  });

  it("reset() returns the decoder to a fresh state", () => {
    const packets = encodeTone(1000, 10);
    const a = new OpusDecoder();
    for (const p of packets.slice(0, 5)) a.decode(p);
    a.reset();
    const b = new OpusDecoder();
    expect(Array.from(a.decode(packets[5]))).toEqual(Array.from(b.decode(packets[5])));
  });
});
