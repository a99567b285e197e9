// The node's start-up check of its Opus encoder (src/media/preflight.ts): what RTCGW_OPUS_ENCODER
// gets when the native addon loads but its encoder does not run.
import { afterAll, describe, expect, it } from "vitest";
import { opusEncoderBackend, selectOpusEncoder } from "../../src/audio/codecs/index.js";
import { checkOpusEncoder, currentOpusEncoder, MediaPreflightError } from "../../src/media/index.js";

// a test encode that fails on the native backend only, as a broken addon build would
const nativeBroken = () => {
  if (opusEncoderBackend() === "native") throw new Error("opus_encode: Opus(InternalError)");
};

afterAll(() => {
  selectOpusEncoder("auto");
});

describe("checkOpusEncoder", () => {
  it("auto runs the native encoder where it encodes", () => {
    expect(checkOpusEncoder("auto")).toEqual({ backend: "native" });
    expect(currentOpusEncoder()).toBe("native");
  });

  it("auto whose addon loads but cannot encode runs WASM and says why", () => {
    const selection = checkOpusEncoder("auto", nativeBroken);
    expect(selection.backend).toBe("wasm");
    expect(selection.fallback).toMatch(
      /native Opus addon loads but cannot encode: opus_encode: Opus\(InternalError\)/,
    );
    expect(currentOpusEncoder()).toBe("wasm");
  });

  it("native whose addon cannot encode stops the start, naming the setting", () => {
    expect(() => checkOpusEncoder("native", nativeBroken)).toThrow(MediaPreflightError);
    expect(() => checkOpusEncoder("native", nativeBroken)).toThrow(/RTCGW_OPUS_ENCODER=wasm/);
  });

  it("an encoder that fails on every backend stops the start under auto too", () => {
    const broken = () => {
      throw new Error("opus_encode: Opus(AllocFail)");
    };
    expect(() => checkOpusEncoder("auto", broken)).toThrow(MediaPreflightError);
  });
});
