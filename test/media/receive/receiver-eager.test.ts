// The bridge's receive mode (`eager`): a packet that follows the last played one in sequence is
// decoded and emitted the moment it arrives; only a gap (missing or reordered packet) waits, up
// to the adaptive depth, and is then filled at its true position. Virtual clock, hand-built
// PCMU packets (one sample value per packet, so each frame says which packet it came from).
import { describe, expect, it } from "vitest";
import { G711Encoder } from "../../../src/audio/codecs/g711-codec.js";
import type { AudioFrame } from "../../../src/media/frame.js";
import { RtpAudioReceiver } from "../../../src/media/receive/receiver.js";
import { buildRtp } from "../../../src/media/rtp/packet.js";
import { expectWallClockTrue, runScenario } from "./harness.js";

const SSRC = 0x1234;
const enc = new G711Encoder("pcmu");
/** packet n: 20 ms of PCMU of the constant value (n mod 20 + 1) × 100 (μ-law tells those apart), sequence 500 + n */
function packet(n: number): Uint8Array {
  return buildRtp({
    payloadType: 0,
    sequenceNumber: 500 + n,
    timestamp: 9000 + n * 160,
    ssrc: SSRC,
    payload: enc.encode(new Int16Array(160).fill(((n % 20) + 1) * 100)),
  });
}

interface Out {
  frame: AudioFrame;
  at: number;
}

function receiver(eager: boolean, clock: { now: number }) {
  const out: Out[] = [];
  const rx = new RtpAudioReceiver({
    codec: { codec: "pcmu", payloadType: 0, clockRate: 8000, channels: 1 },
    eager,
    onFrame: (frame) => out.push({ frame, at: clock.now }),
  });
  return {
    rx,
    out,
    push(n: number, at: number) {
      clock.now = at;
      rx.push(packet(n), at);
    },
    tick(at: number) {
      clock.now = at;
      rx.tick(at);
    },
  };
}

/** which packet (mod 20) a frame came from */
const level = (f: AudioFrame) => Math.round(f.samples[80]! / 100) - 1;

describe("RtpAudioReceiver eager mode (the bridge)", () => {
  it("in-order packets are emitted the moment they arrive; the due-time mode holds them 40 ms", () => {
    for (const eager of [true, false]) {
      const clock = { now: 0 };
      const r = receiver(eager, clock);
      // the first packet anchors the timeline: it waits its due time in both modes (an earlier
      // packet may still be on its way: nothing lost at the start)
      r.push(0, 1000);
      for (let t = 1000; t <= 1060; t += 10) r.tick(t);
      expect(r.out.map((o) => o.at)).toEqual([1060]);
      // then 20 packets, each 3 ms after its nominal time, ticks every 10 ms in between
      for (let n = 1; n <= 20; n++) {
        r.push(n, 1000 + n * 20 + 3);
        r.tick(1000 + n * 20 + 10);
      }
      const frames = r.out.slice(1, 21);
      if (eager) {
        // each frame left in the push of its own packet
        expect(frames.map((o) => o.at)).toEqual(frames.map((_, i) => 1000 + (i + 1) * 20 + 3));
      } else {
        // at slot end + 40 ms depth: the hold eager mode removes
        expect(Math.min(...frames.map((o, i) => o.at - (1000 + (i + 1) * 20 + 3)))).toBeGreaterThanOrEqual(
          40,
        );
      }
      expect(r.out.map((o) => level(o.frame))).toEqual(r.out.map((_, i) => i % 20));
      expect(r.out.map((o) => o.frame.pts)).toEqual(r.out.map((_, i) => i * 160));
      expect(r.rx.counters).toMatchObject({ lost: 0, late: 0, concealedMs: 0, reordered: 0 });
    }
  });

  it("a reordered pair waits for the missing packet, then both leave at once, in order", () => {
    const clock = { now: 0 };
    const r = receiver(true, clock);
    r.push(0, 1000);
    r.push(1, 1020);
    r.push(2, 1040);
    expect(r.out).toHaveLength(0); // the first packet waits its due time, 1 and 2 behind it
    r.tick(1060);
    expect(r.out).toHaveLength(3);
    r.push(4, 1083); // 3 is late on the wire: 4 must not go first
    r.tick(1090);
    expect(r.out).toHaveLength(3);
    r.push(3, 1095);
    expect(r.out.map((o) => [level(o.frame), o.at])).toEqual([
      [0, 1060],
      [1, 1060],
      [2, 1060],
      [3, 1095],
      [4, 1095],
    ]);
    expect(r.rx.counters).toMatchObject({ reordered: 1, lost: 0, late: 0, concealedMs: 0 });
  });

  it("a lost packet waits the depth, is concealed at its own position, and the next leaves right after", () => {
    const clock = { now: 0 };
    const r = receiver(true, clock);
    r.push(0, 1000);
    r.push(1, 1020);
    r.push(2, 1040); // 3 is lost
    r.tick(1060);
    r.push(4, 1080);
    for (let t = 1080; t < 1100; t += 5) r.tick(t);
    r.push(5, 1100);
    for (let t = 1100; t < 1120; t += 5) r.tick(t);
    r.push(6, 1118);
    expect(r.out).toHaveLength(3); // 4, 5, 6 wait behind the gap
    r.tick(1120);
    // slot 3 is due at origin + 4 × 20 + 40 ms depth = 1120: concealed then (not before), and 4,
    // 5, 6 follow it in the same instant
    const at3 = r.out[3]!;
    expect(at3.at).toBe(1120);
    expect(at3.frame.pts).toBe(3 * 160);
    expect(at3.frame.filler).toBe(true);
    expect(r.out.slice(4, 7).map((o) => [level(o.frame), o.at])).toEqual([
      [4, 1120],
      [5, 1120],
      [6, 1120],
    ]);
    expect(r.rx.counters).toMatchObject({ lost: 1, concealedMs: 20, late: 0 });
    // a packet 3 arriving now is late: nothing is replayed out of its place
    r.push(3, 1130);
    expect(r.out).toHaveLength(7);
    expect(r.rx.counters.late).toBe(1);
  });

  it("a delayed first packet does not delay the call: the reference follows the least-delayed packet", () => {
    // packets 0–6, sent from 1000 to 1120, arrive together at 1137 (a stall on the way); from 7
    // on they arrive on time. Against a reference set by packet 0's arrival every later packet is
    // 137 ms "early": held to it, each would wait ~100 ms for the whole call.
    const clock = { now: 0 };
    const r = receiver(true, clock);
    for (let n = 0; n <= 6; n++) r.push(n, 1137);
    for (let n = 7; n <= 30; n++) {
      r.push(n, 1000 + n * 20);
      r.tick(1000 + n * 20 + 10);
    }
    expect(r.out).toHaveLength(31);
    const held = r.out.slice(10).filter((o, i) => o.at !== 1000 + (i + 10) * 20);
    expect(held).toEqual([]);
    expect(r.out.map((o) => level(o.frame))).toEqual(r.out.map((_, i) => i % 20));
    expect(r.out.map((o) => o.frame.pts)).toEqual(r.out.map((_, i) => i * 160));
    expect(r.rx.counters).toMatchObject({ lost: 0, late: 0, concealedMs: 0 });
  });

  it("the same frames either way: eager changes when they leave, not what they are", () => {
    const opts = { seed: 7, durationMs: 6000, loss: 0.05, jitterMs: 15, reorder: 0.05, reorderDelayMs: 15 };
    const due = runScenario(opts);
    const eager = runScenario(opts, { eager: true });
    expectWallClockTrue(eager);
    expect(eager.frames.length).toBe(due.frames.length);
    expect(eager.receiver.counters).toEqual(due.receiver.counters);
    for (let k = 0; k < due.frames.length; k++) {
      if (!due.frames[k]!.samples.every((v, i) => v === eager.frames[k]!.samples[i]))
        expect.fail(`frame ${k} differs`);
    }
    expect(eager.packets).toEqual(due.packets);
  });
});
