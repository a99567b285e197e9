import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidSessionIdError } from "../../../src/media/sinks/errors.js";
import { OggOpusWriter } from "../../../src/media/sinks/ogg-opus-writer.js";
import { recordingPath } from "../../../src/media/sinks/paths.js";
import { WavWriter } from "../../../src/media/sinks/wav-writer.js";
import { ToneSource } from "../../../src/media/sources/tone.js";
import { readOggPages } from "./ogg.js";
import { parseWav } from "./wav.js";

const root = mkdtempSync(join(tmpdir(), "rtcgw-paths-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("recording paths", () => {
  const dir = join(root, "recordings");

  it("derives names from the session id, inside the recordings dir (created on demand)", () => {
    expect(recordingPath(dir, "s_AbC-123", ".wav")).toBe(join(dir, "s_AbC-123.wav"));
    expect(existsSync(dir)).toBe(true);
  });

  it.each([
    "../etc/passwd",
    "..",
    ".",
    "a/b",
    "a\\b",
    "/abs",
    "x\u0000y",
    "",
    "a".repeat(129),
    "name.wav",
    "%2e%2e",
    "ünïcode",
  ])("refuses %j with a typed error and creates nothing", (id) => {
    const before = readdirSync(dir).length;
    expect(() => recordingPath(dir, id, ".ogg")).toThrow(InvalidSessionIdError);
    expect(readdirSync(dir)).toHaveLength(before);
    expect(existsSync(join(root, "etc"))).toBe(false);
  });

  it("refuses non-string ids", () => {
    expect(() => recordingPath(dir, 42 as unknown as string, ".wav")).toThrow(InvalidSessionIdError);
  });
});

describe("size and duration limits", () => {
  it("WAV: stops cleanly at the duration limit, stays valid, counts what it refused", () => {
    const path = join(root, "dur.wav");
    const w = new WavWriter(path, { rate: 16000, channels: 1, maxDurationMs: 1000 });
    const events: string[] = [];
    w.events.on("limit", (e) => events.push(e.reason));
    const tone = new ToneSource({ rate: 16000 });
    for (let i = 0; i < 100; i++) w.onFrame(tone.nextFrame()); // 2 s offered
    expect(events).toEqual(["max_duration"]);
    expect(w.stats()).toMatchObject({ state: "limited", durationMs: 1000, refusedMs: 1000 });
    w.close();
    expect(parseWav(path).dataBytes).toBe(32000);
  });

  it("WAV: stops cleanly at the size limit (file ends exactly at it)", () => {
    const path = join(root, "size.wav");
    const w = new WavWriter(path, { rate: 48000, channels: 2, maxBytes: 100_000 });
    const tone = new ToneSource({ rate: 48000, channels: 2 });
    let limited = 0;
    w.events.on("limit", () => limited++);
    for (let i = 0; i < 100; i++) w.onFrame(tone.nextFrame());
    w.close();
    const p = parseWav(path);
    expect(limited).toBe(1);
    expect(p.fileBytes).toBeLessThanOrEqual(100_000);
    expect(p.dataBytes).toBe(100_000 - 44); // filled exactly to the limit, whole stereo frames
  });

  it("Ogg: stops at the duration limit with an EOS page; granules still true", () => {
    const path = join(root, "dur.ogg");
    const w = new OggOpusWriter(path, { channels: 1, maxDurationMs: 1000, preSkip: 0 });
    const pkt = new Uint8Array(60);
    pkt[0] = 31 << 3;
    let reason = "";
    w.events.on("limit", (e) => {
      reason = e.reason;
    });
    for (let i = 0; i < 100; i++) w.writePacket(pkt);
    expect(reason).toBe("max_duration");
    expect(w.stats()).toMatchObject({ state: "limited", packets: 50, refusedPackets: 50 });
    w.close();
    const pages = readOggPages(path);
    expect(pages.at(-1)!.flags & 0x04).toBe(0x04);
    expect(pages.at(-1)!.granule).toBe(50n * 960n);
  });

  it("Ogg: stops at the size limit", () => {
    const path = join(root, "size.ogg");
    const w = new OggOpusWriter(path, { channels: 1, maxBytes: 5000 });
    const pkt = new Uint8Array(100);
    pkt[0] = 31 << 3;
    for (let i = 0; i < 200; i++) w.writePacket(pkt);
    w.close();
    expect(w.stats().state).toBe("closed");
    expect(w.stats().bytes).toBeLessThanOrEqual(5000);
    expect(readOggPages(path).every((p) => p.crcOk)).toBe(true);
  });
});
