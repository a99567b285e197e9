// A resume seen from the receive timeline: the call's peer is replaced, and the new one sends
// under a new SSRC with fresh sequence and timestamp bases after a gap (docs/timeline.md, "Timestamp
// jumps, restarts, SSRC changes"). The gap must keep its true length: the recording is as long as
// the call. Packets are placed on a virtual clock here, each arriving when the test says.
import { describe, expect, it } from "vitest";
import { OpusEncoder } from "../../../src/audio/codecs/opus.js";
import type { AudioFrame } from "../../../src/media/frame.js";
import { RtpAudioReceiver } from "../../../src/media/receive/receiver.js";
import { buildRtp } from "../../../src/media/rtp/packet.js";
import { toneFrame } from "../../support/rtp-stream.js";

const OPUS = { codec: "opus", payloadType: 111, clockRate: 48000, channels: 1 } as const;

interface Source {
  ssrc: number;
  seq0: number;
  ts0: number;
  /** send time of its first 20 ms frame (ms) */
  sentMs: number;
  frames: number;
  /** arrival of frame k (default: when it was sent) */
  arrival?: (k: number, sentMs: number) => number;
}

/**
 * Two sources one after the other (the old peer, then the resumed one), ticked every 5 ms, flushed
 * after the last arrival. Returns where the second source's audio starts on the timeline and how
 * long the call's media is (first packet to the end of the last: what a recording keeps).
 */
function resume(a: Source, b: Source, minDepthMs?: number) {
  const enc = new OpusEncoder();
  const frames: AudioFrame[] = [];
  const r = new RtpAudioReceiver({
    codec: OPUS,
    onFrame: (f) => frames.push(f),
    ...(minDepthMs ? { jitter: { minMs: minDepthMs } } : {}),
  });
  const datagrams: { at: number; data: Uint8Array }[] = [];
  let n = 0;
  for (const s of [a, b]) {
    for (let k = 0; k < s.frames; k++) {
      const sent = s.sentMs + k * 20;
      const payload = enc.encode(toneFrame(n++, 48000, 440, 8000));
      const data = buildRtp({
        payloadType: 111,
        sequenceNumber: (s.seq0 + k) & 0xffff,
        timestamp: (s.ts0 + k * 960) >>> 0,
        ssrc: s.ssrc,
        payload,
      });
      datagrams.push({ at: s.arrival?.(k, sent) ?? sent, data });
    }
  }
  datagrams.sort((x, y) => x.at - y.at);
  const end = datagrams.at(-1)!.at;
  let i = 0;
  for (let now = 0; i < datagrams.length; now += 5) {
    while (i < datagrams.length && datagrams[i]!.at <= now) r.push(datagrams[i]!.data, datagrams[i++]!.at);
    r.tick(now);
  }
  r.flush(end);
  const firstOfB = frames.findIndex((f, k) => k >= a.frames && !f.filler);
  return { bStartMs: firstOfB * 20, mediaMs: r.counters.frames * 20, counters: r.counters };
}

const OLD = { ssrc: 1, seq0: 100, ts0: 5000, sentMs: 0, frames: 100 };
const NEW = { ssrc: 2, seq0: 61000, ts0: 4_000_000_000, sentMs: 2500, frames: 100 };

describe("a new SSRC (a resume's new peer) keeps the gap at its true length", () => {
  it("the call's first packet held up 90 ms: the new source is not placed 90 ms early (the WAV came out short)", () => {
    // seen in Chromium under load: the call's first packets reach the node's loop together, 90 ms
    // after they were sent; every later packet arrives on time, i.e. "early" against the
    // timeline's origin (the first arrival). Measured from origin, the new peer's first packet
    // (on time as well) was placed 90 ms too early, and the call's media was 90 ms short.
    const held = { ...OLD, arrival: (k: number, sent: number) => Math.max(sent, k < 5 ? 90 : 0) };
    const run = resume(held, NEW);
    expect(run.counters).toMatchObject({ ssrcChanges: 1, late: 0, lost: 0 });
    expect(run.bStartMs).toBe(2500);
    expect(run.mediaMs).toBe(2500 + 2000);
  });

  it("the new source's own first packets held up 70 ms: placed by its least-delayed packet, not 60 ms late", () => {
    // (a jittery path: the depth is 100 ms, so its true slots are not yet played when they come)
    const held = { ...NEW, arrival: (k: number, sent: number) => (k < 4 ? 2570 : sent) };
    const run = resume(OLD, held, 100);
    expect(run.counters).toMatchObject({ ssrcChanges: 1, late: 0, lost: 0 });
    expect(run.bStartMs).toBe(2500);
    expect(run.mediaMs).toBe(2500 + 2000);
  });

  it("… and later than the depth: its held packets are late, as on a source that goes on, and the rest is in its true place", () => {
    // 70 ms held against a 20 ms depth: its slots 125–126 were already played (as the gap), so
    // its first packets go to the first free slot — until its first on-time packet shows it runs
    // 40 ms late, and it moves back: what then falls on emitted slots is late. Before, it stayed
    // 40 ms late for the rest of the call (the recording 40 ms long, an echo 40 ms behind).
    const held = { ...NEW, arrival: (k: number, sent: number) => (k < 4 ? 2570 : sent) };
    const run = resume(OLD, held);
    expect(run.counters).toMatchObject({ ssrcChanges: 1, lost: 0 });
    expect(run.counters.late).toBeGreaterThanOrEqual(1);
    expect(run.counters.late).toBeLessThanOrEqual(4);
    expect(run.bStartMs).toBeLessThanOrEqual(2580); // its first on-time packet, sent at 2580
    expect(run.mediaMs).toBe(2500 + 2000);
  });

  it("a new source between slots goes to the nearest slot (it was always the one before: 0–20 ms lost)", () => {
    for (const sentMs of [2503, 2509, 2511, 2517]) {
      const run = resume(OLD, { ...NEW, sentMs });
      expect(Math.abs(run.bStartMs - sentMs), `sent at ${sentMs}`).toBeLessThanOrEqual(10);
      expect(Math.abs(run.mediaMs - (sentMs + 2000)), `sent at ${sentMs}`).toBeLessThanOrEqual(10);
    }
  });

  it("a new source that follows the old one without a gap still plays right after it", () => {
    const run = resume(OLD, { ...NEW, sentMs: 2000 });
    expect(run.bStartMs).toBe(2000);
    expect(run.mediaMs).toBe(4000);
    expect(run.counters).toMatchObject({ silenceMs: 0, concealedMs: 0, late: 0, lost: 0 });
  });
});
