// The Opus encoder on both backends (src/audio/codecs/opus-encoder-state.ts): the native addon
// @evan/opus ships and the WASM build. Each is checked against what went in — a tone encoded,
// decoded by the WASM decoder and measured — not against the other backend.
import { afterAll, describe, expect, it } from "vitest";
import {
  CodecDestroyedError,
  CodecOptionsError,
  EncodeError,
  loadOpusNative,
  OPUS_CTL,
  OpusDecoder,
  OpusEncoder,
  type OpusEncoderBackend,
  opusEncoderBackend,
  opusPacketSamples,
  selectOpusEncoder,
} from "../../../src/audio/codecs/index.js";
import { toneFrame } from "../../support/rtp-stream.js";
import { concat, db, dominantHz, goertzelAmplitude } from "./tone-analysis.js";

const BACKENDS: OpusEncoderBackend[] = ["native", "wasm"];

afterAll(() => {
  selectOpusEncoder("auto");
});

describe.each(BACKENDS)("Opus encoder on %s libopus", (backend) => {
  it("encodes 16 kHz speech-rate frames that the WASM decoder plays back as the same tone and level", () => {
    const enc = new OpusEncoder({ rate: 16000, complexity: 1, backend });
    expect(enc.backend).toBe(backend);
    const dec = new OpusDecoder({ rate: 16000 });
    const packets = Array.from({ length: 50 }, (_, f) => enc.encode(toneFrame(f, 16000, 440, 8000)));
    expect(packets.every((p) => opusPacketSamples(p) === 960)).toBe(true);
    const steady = concat(packets.map((p) => dec.decode(p))).subarray(16000 * 0.2);
    expect(Math.abs(dominantHz(steady.subarray(0, 3200), 16000) - 440)).toBeLessThanOrEqual(10);
    expect(Math.abs(db(goertzelAmplitude(steady, 16000, 440) / 8000))).toBeLessThan(1.5);
  });

  it("applies every setting (read back through the CTLs)", () => {
    const enc = new OpusEncoder({ bitrate: 24000, complexity: 3, packetLossPercent: 15, dtx: true, backend });
    expect(enc.get(OPUS_CTL.GET_BITRATE)).toBe(24000);
    expect(enc.get(OPUS_CTL.GET_COMPLEXITY)).toBe(3);
    expect(enc.get(OPUS_CTL.GET_INBAND_FEC)).toBe(1);
    expect(enc.get(OPUS_CTL.GET_PACKET_LOSS_PERC)).toBe(15);
    expect(enc.get(OPUS_CTL.GET_DTX)).toBe(1);
    enc.destroy();
  });

  it("returns a packet of its own each call (a second encode does not change the first's bytes)", () => {
    const enc = new OpusEncoder({ rate: 16000, backend });
    const a = enc.encode(toneFrame(0, 16000, 440, 8000));
    const copy = Uint8Array.from(a);
    enc.encode(toneFrame(1, 16000, 1000, 12000));
    expect(Array.from(a)).toEqual(Array.from(copy));
  });

  it("refuses a wrong frame length and any use after destroy() with typed errors", () => {
    const enc = new OpusEncoder({ rate: 16000, backend });
    expect(() => enc.encode(new Int16Array(319))).toThrow(EncodeError);
    expect(enc.encode(new Int16Array(320)).length).toBeGreaterThan(0); // still usable
    enc.destroy();
    enc.destroy(); // idempotent
    expect(() => enc.encode(new Int16Array(320))).toThrow(CodecDestroyedError);
    expect(() => enc.reset()).toThrow(CodecDestroyedError);
    expect(() => enc.get(OPUS_CTL.GET_BITRATE)).toThrow(CodecDestroyedError);
  });
});

describe("the native encoder's pool", () => {
  it("reuses a destroyed encoder's state, reset: its packets are byte for byte a fresh encoder's", () => {
    const native = loadOpusNative();
    if (native instanceof Error) throw native; // this machine (x64 Linux) has the addon
    const frames = Array.from({ length: 30 }, (_, f) => toneFrame(f, 24000, 300 + f * 20, 9000));
    const used = new OpusEncoder({ rate: 24000, complexity: 5, backend: "native" });
    for (const f of frames) used.encode(f);
    used.destroy();
    const pooled = native.pooled;
    expect(pooled).toBeGreaterThan(0);
    const reused = new OpusEncoder({ rate: 24000, complexity: 5, backend: "native" });
    expect(native.pooled).toBe(pooled - 1);
    const fresh = new OpusEncoder({ rate: 24000, complexity: 5, backend: "native" });
    for (const f of frames) expect(Array.from(reused.encode(f))).toEqual(Array.from(fresh.encode(f)));
    reused.destroy();
    fresh.destroy();
  });

  it("a pooled encoder takes the next user's settings, not the last one's", () => {
    const native = loadOpusNative();
    if (native instanceof Error) throw native;
    const a = new OpusEncoder({ rate: 8000, bitrate: 12000, complexity: 9, dtx: true, backend: "native" });
    a.destroy();
    const pooled = native.pooled;
    const b = new OpusEncoder({
      rate: 8000,
      bitrate: 20000,
      complexity: 1,
      inbandFec: false,
      backend: "native",
    });
    expect(b.get(OPUS_CTL.GET_BITRATE)).toBe(20000);
    expect(b.get(OPUS_CTL.GET_COMPLEXITY)).toBe(1);
    expect(b.get(OPUS_CTL.GET_DTX)).toBe(0);
    expect(b.get(OPUS_CTL.GET_INBAND_FEC)).toBe(0);
    expect(native.pooled).toBe(pooled - 1); // b is a's state, reused
    b.destroy();
  });
});

describe("choosing the backend (RTCGW_OPUS_ENCODER)", () => {
  const missing = () => new Error("no native Opus encoder for riscv64-linux: cannot find module");

  it("auto takes the native addon where the platform has one", () => {
    expect(selectOpusEncoder("auto")).toEqual({ backend: "native" });
    expect(opusEncoderBackend()).toBe("native");
    expect(new OpusEncoder().backend).toBe("native");
  });

  it("wasm is WASM whatever the platform has", () => {
    expect(selectOpusEncoder("wasm")).toEqual({ backend: "wasm" });
    expect(new OpusEncoder().backend).toBe("wasm");
  });

  it("auto without an addon falls back to WASM and says why; native without one refuses, naming the setting", () => {
    expect(selectOpusEncoder("auto", missing)).toEqual({
      backend: "wasm",
      fallback: "no native Opus encoder for riscv64-linux: cannot find module",
    });
    expect(new OpusEncoder().backend).toBe("wasm");
    expect(() => selectOpusEncoder("native", missing)).toThrow(CodecOptionsError);
    expect(() => selectOpusEncoder("native", missing)).toThrow(
      /RTCGW_OPUS_ENCODER=native: no native Opus encoder/,
    );
  });
});
