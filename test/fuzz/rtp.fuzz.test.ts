// Fuzzing the media receiver (src/media/receive), bounded: at least 10 000 generated datagrams —
// real Opus and PCMU RTP streams with packets mutated (bytes flipped, cut short, padded, header
// bits and fields rewritten), RTCP compound packets (SR, RR, SDES, BYE, APP) with random
// contents and lengths, and random bytes — pushed into RtpAudioReceiver on a virtual clock. The
// receiver never throws, and its output stays what every consumer relies on: contiguous 20 ms
// frames of the right size, pts advancing by exactly one frame.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AudioFrame } from "../../src/media/frame.js";
import { RtpAudioReceiver } from "../../src/media/receive/receiver.js";
import { rtpStream } from "../support/rtp-stream.js";
import { FUZZ_SEED } from "./mutate.js";

const MIN_DATAGRAMS = 10_000;

const mutation = fc.oneof(
  fc.record({ kind: fc.constant("keep" as const) }),
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("cut" as const), keep: fc.nat() }),
  fc.record({ kind: fc.constant("pad" as const), extra: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({
    kind: fc.constant("header" as const),
    // V, P, X, CC bits; M + PT; extension length; CSRC count
    b0: fc.integer({ min: 0, max: 255 }),
    b1: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    kind: fc.constant("rtcp" as const),
    pt: fc.integer({ min: 192, max: 223 }),
    body: fc.uint8Array({ maxLength: 80 }),
    len: fc.integer({ min: 0, max: 0xffff }),
  }),
  fc.record({ kind: fc.constant("random" as const), bytes: fc.uint8Array({ maxLength: 200 }) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(d: Uint8Array, m: Mutation): Uint8Array {
  switch (m.kind) {
    case "keep":
      return d;
    case "flip": {
      const out = Uint8Array.from(d);
      if (out.length) out[m.at % out.length] = m.value;
      return out;
    }
    case "cut":
      return d.subarray(0, m.keep % (d.length + 1));
    case "pad":
      return Uint8Array.from([...d, ...m.extra]);
    case "header": {
      const out = Uint8Array.from(d);
      if (out.length >= 2) {
        out[0] = m.b0;
        out[1] = m.b1;
      }
      return out;
    }
    case "rtcp": {
      // RFC 3550 §6.4: V=2, count, PT 200–204 (and its neighbours), length in 32-bit words − 1
      const out = new Uint8Array(4 + m.body.length);
      out[0] = 0x80 | (m.body.length & 0x1f);
      out[1] = m.pt;
      out[2] = m.len >> 8;
      out[3] = m.len & 0xff;
      out.set(m.body, 4);
      return out;
    }
    case "random":
      return m.bytes;
  }
}

describe("RTP/RTCP fuzzing of the receiver", () => {
  it(`≥ ${MIN_DATAGRAMS} generated datagrams: no throw, output contiguous frames of the right size`, () => {
    let pushed = 0;
    fc.assert(
      fc.property(
        fc.constantFrom("opus" as const, "pcmu" as const),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.array(mutation, { minLength: 30, maxLength: 60 }),
        fc.integer({ min: 1, max: 40 }),
        (codec, seed, mutations, tickMs) => {
          const stream = rtpStream({
            codec,
            seed,
            durationMs: mutations.length * 20,
            jitterMs: 20,
            reorder: 0.05,
            loss: 0.05,
          });
          const frames: AudioFrame[] = [];
          const receiver = new RtpAudioReceiver({
            codec: { codec, payloadType: stream.payloadType, clockRate: stream.clockRate, channels: 1 },
            startMs: 0,
            onFrame: (f) => frames.push(f),
            onPacket: () => {},
          });
          let now = 0;
          stream.arrivals.forEach((a, i) => {
            while (now + tickMs <= a.arrivalMs) {
              now += tickMs;
              receiver.tick(now);
            }
            receiver.push(mutate(a.datagram, mutations[i % mutations.length]!), a.arrivalMs);
            pushed++;
          });
          receiver.flush(now + 200);
          receiver.close();
          for (let i = 0; i < frames.length; i++) {
            const f = frames[i]!;
            expect(f.samples.length).toBe(receiver.frameSamples * f.channels);
            if (i > 0) expect(f.pts).toBe(frames[i - 1]!.pts + receiver.frameSamples);
          }
        },
      ),
      { numRuns: 300, seed: FUZZ_SEED },
    );
    expect(pushed).toBeGreaterThanOrEqual(MIN_DATAGRAMS);
    console.log(`RTP fuzz: ${pushed} datagrams pushed`);
  });
});
