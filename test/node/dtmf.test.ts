// RFC 4733 telephone-event packets → one digit per press (src/node/bridge/dtmf.ts).
import { describe, expect, it } from "vitest";
import { TelephoneEvents } from "../../src/node/bridge/dtmf.js";

function packet(ts: number, event: number, end: boolean, duration: number, seq = 0): Uint8Array {
  const b = Buffer.alloc(16);
  b[0] = 0x80;
  b[1] = 101;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts, 4);
  b.writeUInt32BE(1234, 8);
  b[12] = event;
  b[13] = (end ? 0x80 : 0) | 10;
  b.writeUInt16BE(duration, 14);
  return b;
}

describe("TelephoneEvents", () => {
  it("one digit per press: at the first end packet (repeated ends ignored), with its duration", () => {
    const got: Array<[string, number]> = [];
    const t = new TelephoneEvents(101, 8000, (d, ms) => got.push([d, ms]));
    for (const d of [160, 320, 480]) t.push(packet(1000, 5, false, d));
    for (let i = 0; i < 3; i++) t.push(packet(1000, 5, true, 640));
    t.push(packet(5000, 11, true, 800)); // "#"
    expect(got).toEqual([
      ["5", 80],
      ["#", 100],
    ]);
  });

  it("a press whose end packets were all lost is reported when the next one begins", () => {
    const got: string[] = [];
    const t = new TelephoneEvents(101, 48000, (d) => got.push(d));
    t.push(packet(1, 1, false, 960));
    t.push(packet(1, 1, false, 1920));
    t.push(packet(99999, 2, false, 960));
    expect(got).toEqual(["1"]);
  });

  it("ignores what is not a DTMF key press: short packets, events 16+, not RTP v2", () => {
    const got: string[] = [];
    const t = new TelephoneEvents(101, 8000, (d) => got.push(d));
    t.push(new Uint8Array(12));
    t.push(packet(1, 16, true, 160)); // a tone event, not a key
    const v1 = packet(2, 3, true, 160);
    v1[0] = 0x40;
    t.push(v1);
    expect(got).toEqual([]);
  });
});
