import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CodecSpec } from "../../../src/audio/codecs/types.js";
import { createRecordSession } from "../../../src/media/index.js";
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
      // no pts gap downstream of repair
      expect(frames.every((p, i) => p === i * 960)).toBe(true);
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
