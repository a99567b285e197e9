// A recording is the call's media: first packet to the end of the last one. Nothing is appended
// after the last packet however long the session stays open (no concealment of packets that
// never came, no silence until the teardown), a gap followed by audio stays at its true
// position, and a reordered start loses nothing.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CodecSpec } from "../../../src/audio/codecs/types.js";
import type { AudioFrame } from "../../../src/media/frame.js";
import { createRecordSession, SpanGate } from "../../../src/media/index.js";
import { rtpStream } from "../../support/rtp-stream.js";
import { readOggPages } from "../sinks/ogg.js";
import { parseWav } from "../sinks/wav.js";

const dir = mkdtempSync(join(tmpdir(), "rtcgw-span-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const OPUS: CodecSpec = { codec: "opus", payloadType: 111, clockRate: 48000, channels: 1 };

/** play `stream`'s arrivals in, tick every 10 ms until `closeAtMs`, close there (no startMs: as the node runs it) */
async function record(id: string, durationMs: number, closeAtMs: number, extra = {}) {
  const stream = rtpStream({ seed: 21, durationMs, ...extra });
  const rec = await createRecordSession({ sessionId: id, dir, codec: OPUS, rate: 16000 });
  let i = 0;
  for (let now = 0; now < closeAtMs; now += 10) {
    while (i < stream.arrivals.length && stream.arrivals[i]!.arrivalMs <= now) {
      rec.pushRtp(stream.arrivals[i]!.datagram, stream.arrivals[i]!.arrivalMs);
      i++;
    }
    rec.tick(now);
  }
  const files = rec.close(closeAtMs);
  return {
    stream,
    rec,
    wavMs: (parseWav(files.wav!).dataBytes / 32000) * 1000,
    oggMs: Number(readOggPages(files.ogg!).at(-1)!.granule) / 48,
  };
}

describe("a recording ends with the media", () => {
  it("4 s of tone, then 3 s connected and silent, then the teardown: 4.00 s, nothing concealed", async () => {
    const { rec, wavMs, oggMs } = await record("span_silent_tail", 4000, 7000);
    expect(wavMs).toBe(4000);
    expect(oggMs).toBe(4000);
    const st = rec.stats();
    expect(st.timelineMs).toBe(4000);
    expect(st.concealedMs).toBe(0); // no packet was lost: nothing to conceal
    expect(st.silenceFilledMs).toBe(0);
    expect(st.receiver.trailingMs).toBeGreaterThanOrEqual(2900); // emitted live, cut at the end
    expect(st.ogg!.lostPackets).toBe(0);
  });

  it("closed 30 s after the last packet (a media timeout): still the audio's length", async () => {
    const { wavMs, oggMs } = await record("span_media_timeout", 3000, 33_000);
    expect(wavMs).toBe(3000);
    expect(oggMs).toBe(3000);
  });

  it("closed right after the last packet arrived: the packets still in the jitter buffer play", async () => {
    // the last packet arrives at ≈ 4030 ms; slot 199 is due at 4000 + 40 ms depth
    const { wavMs, oggMs } = await record("span_buffered_tail", 4000, 4040);
    expect(wavMs).toBe(4000);
    expect(oggMs).toBe(4000);
  });

  it("a gap followed by audio stays at its true position; the one after the last packet goes", async () => {
    const { rec, wavMs, oggMs } = await record("span_gap", 6000, 9000, {
      outages: [{ fromMs: 2000, toMs: 3000 }],
    });
    expect(wavMs).toBe(6000);
    expect(oggMs).toBe(6000);
    const st = rec.stats();
    expect(st.concealedMs + st.silenceFilledMs).toBe(1000);
    expect(st.ogg!.lostPackets).toBe(50);
  });

  it("a reordered start loses nothing: the first packet sent plays though it arrived third", async () => {
    // packets 0 and 1 arrive 45 ms late: packet 2 arrives first and starts the timeline
    const stream = rtpStream({ seed: 4, durationMs: 2000 });
    const arrivals = stream.arrivals.map((a) => ({ ...a }));
    arrivals[0]!.arrivalMs += 45;
    arrivals[1]!.arrivalMs += 45;
    arrivals.sort((a, b) => a.arrivalMs - b.arrivalMs);
    expect(arrivals[0]!.slot).toBe(2);
    const rec = await createRecordSession({
      sessionId: "span_reordered_start",
      dir,
      codec: OPUS,
      rate: 16000,
    });
    let i = 0;
    for (let now = 0; now < 2200; now += 10) {
      while (i < arrivals.length && arrivals[i]!.arrivalMs <= now) {
        rec.pushRtp(arrivals[i]!.datagram, arrivals[i]!.arrivalMs);
        i++;
      }
      rec.tick(now);
    }
    const { wav } = rec.close(2200);
    expect((parseWav(wav!).dataBytes / 32000) * 1000).toBe(2000);
    expect(rec.stats().late).toBe(0);
    expect(rec.stats().lost).toBe(0);
  });
});

describe("SpanGate", () => {
  const frame = (pts: number, filler: boolean, value = 0): AudioFrame => ({
    pts,
    rate: 16000,
    channels: 1,
    samples: new Int16Array(320).fill(value),
    ...(filler ? { filler: true } : {}),
  });

  it("drops filler before the first audio and after the last, releases a gap in order when audio follows", () => {
    const got: AudioFrame[] = [];
    let ended = false;
    const gate = new SpanGate({
      onFrame: (f) => void got.push(f),
      onEnd: () => {
        ended = true;
      },
    });
    gate.onFrame(frame(0, true)); // before the first packet
    gate.onFrame(frame(320, false, 5));
    gate.onFrame(frame(640, true, 7)); // concealment
    gate.onFrame(frame(960, true)); // silence
    gate.onFrame(frame(1280, true));
    expect(got.map((f) => f.pts)).toEqual([320]);
    expect(gate.heldFrames).toBe(3);
    gate.onFrame(frame(1600, false, 5));
    expect(got.map((f) => f.pts)).toEqual([320, 640, 960, 1280, 1600]);
    expect(got[1]!.samples[0]).toBe(7);
    expect(got[2]!.samples.length).toBe(320);
    gate.onFrame(frame(1920, true, 3));
    gate.onFrame(frame(2240, true));
    gate.onEnd("closed");
    expect(got).toHaveLength(5);
    expect(gate.droppedFrames).toBe(2);
    expect(gate.leadingFrames).toBe(1);
    expect(ended).toBe(true);
  });

  it("a frame whose audio ends mid-frame (fillerTail) goes on whole when audio follows, cut to its audio at the end", () => {
    // stereo, 320 samples per channel a frame: the channel layout is kept when cutting
    const st = (pts: number, o: { filler?: boolean; tail?: number } = {}): AudioFrame => {
      const samples = new Int16Array(640);
      for (let i = 0; i < 640; i++) samples[i] = i % 2 === 0 ? 1 + (i >> 1) : -(1 + (i >> 1));
      return {
        pts,
        rate: 16000,
        channels: 2,
        samples,
        ...(o.filler ? { filler: true } : {}),
        ...(o.tail ? { fillerTail: o.tail } : {}),
      };
    };
    const got: AudioFrame[] = [];
    const gate = new SpanGate({ onFrame: (f) => void got.push(f) });
    gate.onFrame(st(0));
    gate.onFrame(st(320, { tail: 160 })); // a lost 10 ms packet in the middle of the call
    expect(gate.heldFrames).toBe(1);
    gate.onFrame(st(640, { filler: true }));
    gate.onFrame(st(960));
    expect(got.map((f) => [f.pts, f.samples.length])).toEqual([
      [0, 640],
      [320, 640],
      [640, 640],
      [960, 640],
    ]);
    gate.onFrame(st(1280, { tail: 160 })); // the call's last packet ends mid-frame
    gate.onFrame(st(1600, { filler: true }));
    gate.onEnd("closed");
    const last = got.at(-1)!;
    expect([last.pts, last.samples.length, last.fillerTail]).toEqual([1280, 320, undefined]);
    expect(Array.from(last.samples.subarray(316))).toEqual([159, -159, 160, -160]);
    expect(gate.droppedTailSamples).toBe(160);
    expect(gate.droppedFrames).toBe(1);
  });

  it("a 10-minute silent gap followed by audio comes out whole, in order", () => {
    let n = 0;
    let lastPts = -320;
    const gate = new SpanGate({
      onFrame: (f) => {
        if (f.pts !== lastPts + 320) throw new Error(`pts ${f.pts} after ${lastPts}`);
        lastPts = f.pts;
        n++;
      },
    });
    gate.onFrame(frame(0, false, 1));
    for (let k = 1; k <= 30_000; k++) gate.onFrame(frame(k * 320, true));
    expect(gate.heldFrames).toBe(30_000);
    gate.onFrame(frame(30_001 * 320, false, 1));
    expect(n).toBe(30_002);
  });
});
