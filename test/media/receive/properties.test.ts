// Property-based tests (fast-check) of the jitter buffer and the timestamp-repair invariants:
// whatever the network does, the output is contiguous, as long as the elapsed time, in order,
// and never plays a packet twice.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type BufferedPacket, JitterBuffer } from "../../../src/media/receive/jitter-buffer.js";
import { RtpAudioReceiver } from "../../../src/media/receive/receiver.js";
import {
  driveOnVirtualClock,
  rtpStream,
  type StreamOptions,
  type TimeRange,
} from "../../support/rtp-stream.js";
import { specFor } from "./harness.js";

const range = fc
  .tuple(fc.integer({ min: 0, max: 8000 }), fc.integer({ min: 20, max: 2000 }))
  .map(([from, len]): TimeRange => ({ fromMs: from, toMs: from + len }));

const network = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  durationMs: fc.integer({ min: 200, max: 8000 }),
  loss: fc.double({ min: 0, max: 0.3, noNaN: true }),
  jitterMs: fc.integer({ min: 0, max: 150 }),
  reorder: fc.double({ min: 0, max: 0.3, noNaN: true }),
  reorderDelayMs: fc.integer({ min: 1, max: 120 }),
  duplicate: fc.double({ min: 0, max: 0.3, noNaN: true }),
  bursts: fc.array(range, { maxLength: 3 }),
  startSeq: fc.integer({ min: 0, max: 0xffff }),
  startTs: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
});

interface Observed {
  pts: number[];
  sizes: number[];
  /** for each slot with a payload: which sender frame it was */
  played: { slot: number; frame: number; epoch: number }[];
  receiver: RtpAudioReceiver;
  callMs: number;
  /** the sender's frames that reached the receiver span this much (lost ones at the ends cut) */
  sentMs: number;
  /** RTP datagrams delivered (duplicates included) */
  arrived: number;
  /** when the sender sent each delivered RTP datagram */
  sentAtMs: number[];
}

/** `startMs: false`: the timeline starts at the first packet, as the node runs it; `eager`: the
 *  bridge's mode (in-sequence packets emitted at arrival, only gaps wait) */
function observe(o: StreamOptions, tickMs: number, startMs = true, eager = false): Observed {
  const stream = rtpStream({ ...o, codec: "pcmu" });
  const start = o.baseDelayMs ?? 30;
  const end = stream.frames * 20 + start;
  // which datagram a payload view came from → sender frame number and SSRC
  const frameOf = new Map(stream.datagrams.map((d) => [d.datagram.buffer, d]));
  const epochs = [...new Set(stream.datagrams.map((d) => d.ssrc))];
  const obs: Observed = {
    pts: [],
    sizes: [],
    played: [],
    receiver: undefined as never,
    callMs: end - start,
    sentMs: end - start - stream.lostAtStartMs - stream.lostAtEndMs,
    arrived: stream.arrivals.filter((d) => d.kind === "rtp").length,
    sentAtMs: stream.datagrams.filter((d) => d.kind === "rtp").map((d) => d.sendMs),
  };
  obs.receiver = new RtpAudioReceiver({
    codec: specFor(stream),
    ...(startMs ? { startMs: start } : {}),
    eager,
    onFrame: (f) => {
      obs.pts.push(f.pts);
      obs.sizes.push(f.samples.length);
    },
    onPacket: (payload, pts) => {
      if (!payload) return;
      const d = frameOf.get(payload.buffer as ArrayBuffer)!;
      obs.played.push({ slot: pts / 160, frame: d.frame, epoch: epochs.indexOf(d.ssrc) });
    },
  });
  driveOnVirtualClock(stream, obs.receiver, end, tickMs, start);
  return obs;
}

function expectContiguousAndWallTrue(obs: Observed, endToleranceMs = 20): void {
  expect(obs.pts).toEqual(obs.pts.map((_, k) => k * 160));
  expect(obs.sizes.every((n) => n === 160)).toBe(true);
  // the call's media (first packet → end of the last one) is as long as what was delivered
  const c = obs.receiver.counters;
  expect(c.frames * 20).toBe(obs.pts.length * 20 - c.trailingMs - c.leadingMs);
  expect(Math.abs(c.frames * 20 - obs.sentMs)).toBeLessThanOrEqual(endToleranceMs);
  // every packet that arrived is played or counted: none vanishes without a trace
  expect(obs.played.length + c.late + c.duplicate + c.staleSsrc + c.overflow).toBe(obs.arrived);
}

/**
 * How much of the call's end may be missing because the sender's last jumps or pauses were never
 * proven: the delivered packets between two disruptions (or after the last) are a segment; one
 * with ≥ 3 packets over ≥ 100 ms plus the network's scatter can be proven and followed to its
 * end (JumpDetector); the timeline may end at the end of the last such segment (the first,
 * before any disruption, needs no proof). Generous where a disruption is absorbed: a bound.
 */
function unprovenTailMs(
  obs: Observed,
  net: { durationMs: number; jitterMs?: number; reorder?: number; reorderDelayMs?: number },
  d: { tsJumps?: { atMs: number }[]; pauses?: TimeRange[] },
): number {
  if (obs.sentAtMs.length === 0) return 0;
  const cuts = [...(d.tsJumps ?? []).map((j) => ({ fromMs: j.atMs, toMs: j.atMs })), ...(d.pauses ?? [])]
    .filter((x) => x.fromMs < net.durationMs)
    .sort((a, b) => a.toMs - b.toMs);
  const scatterMs = (net.jitterMs ?? 0) + (net.reorder ? (net.reorderDelayMs ?? 0) : 0);
  const sentEndMs = Math.max(...obs.sentAtMs) + 20;
  let followedToMs = 0; // the end of the last segment the timeline can follow
  for (let i = -1; i < cuts.length; i++) {
    const fromMs = i < 0 ? Number.NEGATIVE_INFINITY : cuts[i].toMs;
    const toMs = i + 1 < cuts.length ? cuts[i + 1].fromMs : Number.POSITIVE_INFINITY;
    const seg = obs.sentAtMs.filter((t) => t >= fromMs && t < toMs);
    if (seg.length === 0) continue;
    const spanMs = Math.max(...seg) - Math.min(...seg);
    if (i < 0 || (new Set(seg).size >= 3 && spanMs >= 100 + scatterMs)) followedToMs = Math.max(...seg) + 20;
  }
  return sentEndMs - followedToMs;
}

describe.each([
  { mode: "at due time", eager: false },
  { mode: "eager (the bridge)", eager: true },
])("timestamp repair invariants (property-based), $mode", ({ eager }) => {
  it("any loss / jitter / reorder / duplicates / wraps: contiguous, wall-true, ordered, no replay", () => {
    fc.assert(
      fc.property(network, fc.integer({ min: 1, max: 45 }), (net, tickMs) => {
        // the timeline starts at the first packet, as the node runs it (nothing lost at the
        // start: a packet sent earlier but arriving later still plays)
        const obs = observe(net, tickMs, false, eager);
        // a packet sent before the first to arrive still plays if it comes before the first
        // slot is due (the initial 40 ms depth); jitter beyond that can cost the first slots
        const startJitterMs = Math.max(
          0,
          (net.jitterMs ?? 0) + (net.reorder ? (net.reorderDelayMs ?? 0) : 0) - 40,
        );
        expectContiguousAndWallTrue(obs, 20 + Math.ceil(startJitterMs / 20) * 20);
        // order and no duplicate output: sender frames strictly increase along the timeline
        for (let i = 1; i < obs.played.length; i++)
          expect(obs.played[i].frame).toBeGreaterThan(obs.played[i - 1].frame);
        // without timestamp jumps every packet plays at one fixed offset from its send slot
        if (obs.receiver.counters.reanchors === 0) {
          const offsets = new Set(obs.played.map((p) => p.slot - p.frame));
          expect(offsets.size).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 150 },
    );
  }, 120_000);

  it("timestamp jumps, sender pauses and SSRC changes never break the timeline", () => {
    const disruptions = fc.record({
      tsJumps: fc.array(
        fc.record({
          atMs: fc.integer({ min: 0, max: 8000 }),
          delta: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        }),
        { maxLength: 3 },
      ),
      pauses: fc.array(range, { maxLength: 2 }),
      ssrcChanges: fc.array(fc.integer({ min: 0, max: 8000 }), { maxLength: 2 }),
    });
    fc.assert(
      fc.property(network, disruptions, fc.integer({ min: 5, max: 30 }), (net, d, tickMs) => {
        const obs = observe({ ...net, ...d }, tickMs, true, eager);
        // the end is the last packet's end as the sender stamped it: a jump or pause small
        // enough to be absorbed without re-anchoring (≤ maxEarlyMs 300 ahead, ≤ the 200 ms
        // depth behind) moves it by its size, and one in the call's last moments costs its
        // proof window too (≥ 3 packets / 100 ms dropped as late, docs/timeline.md)
        const pausedAtEnd = (d.pauses ?? []).reduce(
          (ms, p) =>
            ms + Math.max(0, Math.min(p.toMs, net.durationMs) - Math.max(p.fromMs, net.durationMs - 1000)),
          0,
        );
        // audio after a jump or pause is followed once proven (≥ 3 packets over 100 ms); what
        // the call's end leaves unproven is lost, back to the last audio the timeline followed
        const unprovenMs = unprovenTailMs(obs, net, d);
        expectContiguousAndWallTrue(obs, 300 + 100 + 40 + pausedAtEnd + unprovenMs);
        // within one sender incarnation, frames still come out in order
        for (let i = 1; i < obs.played.length; i++) {
          if (obs.played[i].epoch === obs.played[i - 1].epoch) {
            expect(obs.played[i].frame).not.toBe(obs.played[i - 1].frame);
          }
        }
      }),
      { numRuns: 100 },
    );
  }, 120_000);

  it("a clean stream after any disruption is played completely again", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 50, max: 200 }).map((f) => f * 20),
        (seed, delta, atMs) => {
          const obs = observe({ seed, durationMs: 8000, tsJumps: [{ atMs, delta }] }, 10, true, eager);
          expectContiguousAndWallTrue(obs);
          // everything sent from 300 ms after the jump on is played
          const after = obs.played.filter((p) => p.frame * 20 >= atMs + 300).length;
          expect(after).toBe((8000 - atMs - 300) / 20);
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);
});

describe("JitterBuffer (property-based)", () => {
  const packet = (seq: number): BufferedPacket => ({
    seq,
    ts: seq * 960,
    pos: seq * 960,
    epoch: 0,
    samples: 960,
    payload: Uint8Array.of(seq & 0xff),
    arrivalMs: 0,
  });

  it("any arrival order with duplicates drains sorted and unique", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 400 }), (seqs) => {
        const jb = new JitterBuffer();
        let dups = 0;
        for (const s of seqs) if (jb.insert(packet(s)) === "duplicate") dups++;
        const unique = [...new Set(seqs)].sort((a, b) => a - b);
        expect(dups).toBe(seqs.length - unique.length);
        const out: number[] = [];
        for (let p = jb.shift(); p; p = jb.shift()) out.push(p.seq);
        expect(out).toEqual(unique);
        // a sequence number already played is still a duplicate
        for (const s of unique.slice(0, 5)) expect(jb.insert(packet(s))).toBe("duplicate");
      }),
    );
  });

  it("a number sent again up to 1023 behind the newest is a duplicate, across long runs and below zero", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -70000, max: 70000 }),
        fc.integer({ min: 1100, max: 3000 }),
        fc.integer({ min: 1, max: 1023 }),
        (start, length, back) => {
          const jb = new JitterBuffer();
          for (let s = start; s < start + length; s++) {
            expect(jb.insert(packet(s))).toBe("inserted");
            jb.shift(); // played: remembered all the same
            if (s - back >= start) expect(jb.insert(packet(s - back))).toBe("duplicate");
          }
          // a new source numbers from scratch: nothing it sends is a duplicate of the old one's
          jb.forgetSequences();
          expect(jb.has(start + length - 1)).toBe(false);
          expect(jb.insert(packet(start + length - 1))).toBe("inserted");
        },
      ),
      { numRuns: 30 },
    );
  });

  it("dropEndingBy removes exactly the packets that end by the playhead", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 100 }), { maxLength: 60 }),
        fc.integer({ min: 0, max: 101 * 960 }),
        (seqs, head) => {
          const jb = new JitterBuffer();
          for (const s of seqs) jb.insert(packet(s));
          const dropped = jb.dropEndingBy(head);
          expect(dropped).toBe(seqs.filter((s) => s * 960 + 960 <= head).length);
          const first = jb.peek();
          if (first) expect(first.pos + first.samples).toBeGreaterThan(head);
        },
      ),
    );
  });
});
