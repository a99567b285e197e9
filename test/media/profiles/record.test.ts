import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import type { CodecSpec } from "../../../src/audio/codecs/types.js";
import { createLogger, sessionLogger } from "../../../src/log/index.js";
import { createRecordSession, InvalidSessionIdError } from "../../../src/media/index.js";
import { driveOnVirtualClock, rtpStream, type StreamOptions } from "../../support/rtp-stream.js";
import { readOggPages } from "../sinks/ogg.js";
import { parseWav, zeroCrossingHz } from "../sinks/wav.js";

const dir = mkdtempSync(join(tmpdir(), "rtcgw-rec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const OPUS: CodecSpec = { codec: "opus", payloadType: 111, clockRate: 48000, channels: 1 };
const CALL_MS = 20_000;

function ffmpegSeconds(path: string): number {
  const r = spawnSync("/usr/bin/python3", [join(__dirname, "../fixtures/probe-ogg.py"), path], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout).decoded_samples / 48000;
}

// each scenario: a 20 s call on a virtual clock; the sender sends for the whole call
const scenarios: Array<[string, Partial<StreamOptions>]> = [
  ["clean", {}],
  ["10% random loss + jitter", { loss: 0.1, jitterMs: 30 }],
  [
    "bursts + reorder + duplicates",
    { bursts: [{ fromMs: 3000, toMs: 3200 }], reorder: 0.05, duplicate: 0.05 },
  ],
  ["4 s outage", { outages: [{ fromMs: 6000, toMs: 10_000 }] }],
  ["sequence and timestamp wrap", { startSeq: 65_500, startTs: 4_294_967_000 - 48_000 }],
  ["~4-billion-tick timestamp jump", { tsJumps: [{ atMs: 8000, delta: 4_000_000_000 }] }],
  ["SSRC change", { ssrcChanges: [9000] }],
  ["DTX silence", { dtx: [{ fromMs: 5000, toMs: 9000 }] }],
];

describe("record profile end to end (synthetic RTP, virtual clock)", () => {
  it.each(scenarios)(
    "%s: WAV and Ogg are the call's length ±20 ms, the tone survives",
    async (name, extra) => {
      const id = `rec_${name.replace(/[^a-z0-9]+/gi, "_")}`;
      const stream = rtpStream({ seed: 11, durationMs: CALL_MS, ...extra });
      const rec = await createRecordSession({ sessionId: id, dir, codec: OPUS, rate: 16000, startMs: 0 });
      const frames: number[] = [];
      rec.inbound.track.events.on("frame", (f) => frames.push(f.pts));
      driveOnVirtualClock(
        stream,
        { push: (d, t) => rec.pushRtp(d, t), tick: (t) => rec.tick(t), flush: (t) => void rec.close(t) },
        CALL_MS,
      );
      const { wav, ogg } = rec.close(CALL_MS);
      // no pts gap downstream of repair; Opus decodes straight to the WAV's 16 kHz (320 per 20 ms)
      expect(rec.inbound.rate).toBe(16000);
      expect(frames.every((p, i) => p === i * 320)).toBe(true);
      const w = parseWav(wav!);
      expect(w.rate).toBe(16000);
      expect(Math.abs((w.dataBytes / 2 / 16000) * 1000 - CALL_MS)).toBeLessThanOrEqual(20);
      const pages = readOggPages(ogg!);
      expect(pages.every((p) => p.crcOk)).toBe(true);
      const oggMs = (Number(pages.at(-1)!.granule) - 312) / 48;
      expect(Math.abs(oggMs - CALL_MS)).toBeLessThanOrEqual(20);
      expect(Math.abs(ffmpegSeconds(ogg!) * 1000 - CALL_MS)).toBeLessThanOrEqual(20);
      // the first 2 s are clean in every scenario: the 440 Hz tone is there
      expect(zeroCrossingHz(w.samples.subarray(8000, 32000), 16000)).toBeCloseTo(440, -1);
      const st = rec.stats();
      expect(st.timelineMs).toBe(CALL_MS);
      expect(st.wav!.state).toBe("closed");
    },
  );

  it("counts what the network did", async () => {
    const stream = rtpStream({ seed: 3, durationMs: 10_000, loss: 0.05, duplicate: 0.05, reorder: 0.05 });
    const rec = await createRecordSession({
      sessionId: "rec_counts",
      dir,
      codec: OPUS,
      rate: 48000,
      ogg: false,
    });
    driveOnVirtualClock(
      stream,
      { push: (d, t) => rec.pushRtp(d, t), tick: (t) => rec.tick(t), flush: (t) => void rec.close(t) },
      10_030,
    );
    const st = rec.stats();
    expect(st.lost).toBeGreaterThan(0);
    expect(st.duplicates).toBeGreaterThan(0);
    expect(st.reordered).toBeGreaterThan(0);
    expect(st.ogg).toBeUndefined();
  });
});

describe("record profile: refusals, limits and logs", () => {
  it("a bad session id is refused before any file exists", async () => {
    const sub = join(dir, "refuse");
    await expect(
      createRecordSession({ sessionId: "../escape", dir: sub, codec: OPUS }),
    ).rejects.toBeInstanceOf(InvalidSessionIdError);
    expect(existsSync(join(dir, "escape.wav"))).toBe(false);
  });

  it("an existing recording is never overwritten, and the failed session leaves no file of its own behind", async () => {
    writeFileSync(join(dir, "taken.ogg"), "precious");
    await expect(createRecordSession({ sessionId: "taken", dir, codec: OPUS })).rejects.toThrow(/EEXIST/);
    expect(readFileSync(join(dir, "taken.ogg"), "utf8")).toBe("precious");
    // the WAV it had opened is closed and removed: a refused session leaves no file
    expect(existsSync(join(dir, "taken.wav"))).toBe(false);
  });

  it("a duration limit stops both files cleanly and logs it with the session id", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l));
        cb();
      },
    });
    const log = sessionLogger(createLogger({ level: "debug", destination: sink }), "rec_limited");
    const stream = rtpStream({ seed: 4, durationMs: 5000 });
    const rec = await createRecordSession({
      sessionId: "rec_limited",
      dir,
      codec: OPUS,
      rate: 16000,
      startMs: 0,
      limits: { maxDurationMs: 2000 },
      log,
    });
    driveOnVirtualClock(
      stream,
      { push: (d, t) => rec.pushRtp(d, t), tick: (t) => rec.tick(t), flush: (t) => void rec.close(t) },
      5000,
    );
    const { wav, ogg } = rec.close(5000);
    expect(parseWav(wav!).dataBytes / 32).toBe(2000);
    const pages = readOggPages(ogg!);
    expect(pages.at(-1)!.flags & 0x04).toBe(0x04);
    expect((Number(pages.at(-1)!.granule) - 312) / 48).toBeLessThanOrEqual(2000);
    await new Promise((r) => setImmediate(r));
    const limits = lines.filter((l) => l.event === "recording_limit");
    expect(limits.map((l) => l.reason)).toEqual(["max_duration", "max_duration"]);
    expect(limits.every((l) => l.sessionId === "rec_limited")).toBe(true);
    expect(lines.some((l) => l.event === "recording_closed" && l.sessionId === "rec_limited")).toBe(true);
    expect(rec.stats().wav!.refusedMs).toBeGreaterThan(2900);
  });
});

describe("record profile: the pipeline's edge never throws", () => {
  it("junk, RTCP and even a non-buffer are counted, never thrown into the transport callback", async () => {
    const rec = await createRecordSession({ sessionId: "rec_junk", dir, codec: OPUS, startMs: 0 });
    expect(() => rec.pushRtp(Uint8Array.of(1, 2, 3), 1)).not.toThrow();
    expect(() => rec.pushRtp(Uint8Array.of(0x80, 200, 0, 1, 0, 0, 0, 0), 2)).not.toThrow(); // RTCP SR
    expect(() => rec.pushRtp(null as unknown as Uint8Array, 3)).not.toThrow(); // a caller's bug
    rec.tick(100);
    const st = rec.stats();
    expect(st.receiver.invalid + st.receiver.rtcp).toBeGreaterThanOrEqual(2);
    expect(st.errors).toBe(1);
    rec.close(100);
  });
});

describe("record profile: a stuck consumer on the same session", () => {
  it("never stalls the recording: WAV and Ogg stay exact, the stuck consumer's drops are counted", async () => {
    const stream = rtpStream({ seed: 8, durationMs: 6000, loss: 0.05 });
    const rec = await createRecordSession({
      sessionId: "rec_stuck",
      dir,
      codec: OPUS,
      rate: 16000,
      startMs: 0,
    });
    // e.g. a PCM bridge whose socket never drains
    const stuck = rec.inbound.subscribe(
      { onFrame: () => new Promise<void>(() => {}) },
      { rate: 16000, channels: 1, queueFrames: 5, name: "stuck-bridge" },
    );
    driveOnVirtualClock(
      stream,
      { push: (d, t) => rec.pushRtp(d, t), tick: (t) => rec.tick(t), flush: (t) => void rec.close(t) },
      6000,
    );
    const { wav, ogg } = rec.close(6000);
    expect(Math.abs((parseWav(wav!).dataBytes / 32000) * 1000 - 6000)).toBeLessThanOrEqual(20);
    expect(Math.abs((Number(readOggPages(ogg!).at(-1)!.granule) - 312) / 48 - 6000)).toBeLessThanOrEqual(20);
    const s = stuck.stats();
    expect(s.delivered).toBe(1);
    expect(s.queued).toBe(5);
    expect(s.dropped).toBeGreaterThan(280); // ~300 frames at 16 kHz, all but 6 dropped, counted
    stuck.stop();
  });
});
