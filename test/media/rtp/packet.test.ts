import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildRtp,
  isRtcp,
  parseRtp,
  RtpBuildError,
  SequenceUnwrapper,
  SsrcTracker,
  TimestampUnwrapper,
} from "../../../src/media/rtp/index.js";

describe("RTP parse/build (RFC 3550 §5.1)", () => {
  it("parses a hand-assembled packet with CSRCs, a one-byte extension and padding", () => {
    const bytes = Uint8Array.of(
      0xb2, // V=2 P=1 X=1 CC=2
      0x80 | 111, // M=1 PT=111
      0xff,
      0xfe, // seq 65534
      0xff,
      0xff,
      0xff,
      0xf0, // ts
      0xde,
      0xad,
      0xbe,
      0xef, // ssrc
      0,
      0,
      0,
      1,
      0,
      0,
      0,
      2, // csrcs
      0xbe,
      0xde,
      0x00,
      0x01,
      0x10,
      0xaa,
      0x00,
      0x00, // RFC 8285 one-byte extension, 1 word
      0x01,
      0x02,
      0x03, // payload
      0x00,
      0x00,
      0x03, // 3 bytes of padding
    );
    const r = parseRtp(bytes);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.packet).toMatchObject({
      padding: true,
      marker: true,
      payloadType: 111,
      sequenceNumber: 65534,
      timestamp: 0xfffffff0,
      ssrc: 0xdeadbeef,
      csrcs: [1, 2],
      paddingBytes: 3,
    });
    expect(r.packet.extension?.profile).toBe(0xbede);
    expect(Array.from(r.packet.extension!.data)).toEqual([0x10, 0xaa, 0, 0]);
    expect(Array.from(r.packet.payload)).toEqual([1, 2, 3]);
  });

  it("round-trips build → parse for any field values (property)", () => {
    fc.assert(
      fc.property(
        fc.record({
          payloadType: fc.integer({ min: 0, max: 127 }).filter((pt) => pt < 64 || pt > 95),
          sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
          timestamp: fc.integer({ min: 0, max: 0xffffffff }),
          ssrc: fc.integer({ min: 0, max: 0xffffffff }),
          marker: fc.boolean(),
          csrcs: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 15 }),
          payload: fc.uint8Array({ maxLength: 300 }),
          paddingBytes: fc.integer({ min: 0, max: 255 }),
          ext: fc.option(
            fc.uint8Array({ maxLength: 40 }).map((d) => d.subarray(0, d.length - (d.length % 4))),
          ),
        }),
        (f) => {
          const extension = f.ext ? { profile: 0x1000, data: f.ext } : undefined;
          const r = parseRtp(buildRtp({ ...f, extension }));
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          expect(r.packet.payloadType).toBe(f.payloadType);
          expect(r.packet.sequenceNumber).toBe(f.sequenceNumber);
          expect(r.packet.timestamp).toBe(f.timestamp);
          expect(r.packet.ssrc).toBe(f.ssrc);
          expect(r.packet.marker).toBe(f.marker);
          expect(r.packet.csrcs).toEqual(f.csrcs);
          expect(Array.from(r.packet.payload)).toEqual(Array.from(f.payload));
          expect(r.packet.paddingBytes).toBe(f.paddingBytes);
          expect(r.packet.extension ? Array.from(r.packet.extension.data) : undefined).toEqual(
            f.ext ? Array.from(f.ext) : undefined,
          );
        },
      ),
    );
  });

  it("never throws on garbage: every byte string gives a typed result", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const r = parseRtp(bytes);
        if (!r.ok)
          expect([
            "too_short",
            "bad_version",
            "csrc_overflow",
            "extension_overflow",
            "bad_padding",
            "rtcp",
          ]).toContain(r.error.code);
        else expect(r.packet.payload.length).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 5000 },
    );
  });

  it("names what is wrong", () => {
    const good = buildRtp({
      payloadType: 111,
      sequenceNumber: 1,
      timestamp: 2,
      ssrc: 3,
      payload: Uint8Array.of(9),
    });
    expect(parseRtp(good.subarray(0, 11))).toMatchObject({ ok: false, error: { code: "too_short" } });
    const v1 = good.slice();
    v1[0] = 0x40;
    expect(parseRtp(v1)).toMatchObject({ ok: false, error: { code: "bad_version" } });
    const cc = good.slice();
    cc[0] |= 0x0f;
    expect(parseRtp(cc)).toMatchObject({ ok: false, error: { code: "csrc_overflow" } });
    const x = good.slice();
    x[0] |= 0x10;
    expect(parseRtp(x)).toMatchObject({ ok: false, error: { code: "extension_overflow" } });
    const p = good.slice();
    p[0] |= 0x20;
    p[p.length - 1] = 200;
    expect(parseRtp(p)).toMatchObject({ ok: false, error: { code: "bad_padding" } });
    p[p.length - 1] = 0;
    expect(parseRtp(p)).toMatchObject({ ok: false, error: { code: "bad_padding" } });
    expect(() =>
      buildRtp({ payloadType: 72, sequenceNumber: 0, timestamp: 0, ssrc: 0, payload: new Uint8Array() }),
    ).toThrow(RtpBuildError);
    expect(() =>
      buildRtp({ payloadType: 128, sequenceNumber: 0, timestamp: 0, ssrc: 0, payload: new Uint8Array() }),
    ).toThrow(RtpBuildError);
  });
});

describe("RTCP on a muxed port (RFC 5761 §4)", () => {
  it("tells RTCP packet types 192..223 from RTP", () => {
    for (const pt of [200, 201, 202, 203, 204, 205, 206, 207]) {
      const b = Uint8Array.of(0x80, pt, 0, 1, 0, 0, 0, 1);
      expect(isRtcp(b)).toBe(true);
      expect(parseRtp(b.length < 12 ? Uint8Array.of(...b, 0, 0, 0, 0) : b)).toMatchObject({
        ok: false,
        error: { code: "rtcp" },
      });
    }
    expect(isRtcp(Uint8Array.of(0x80, 0x80 | 111))).toBe(false); // RTP with marker
    expect(isRtcp(Uint8Array.of(0x80, 0))).toBe(false); // PCMU
    expect(isRtcp(Uint8Array.of(0x00, 200))).toBe(false); // not version 2
    expect(isRtcp(Uint8Array.of(0x80))).toBe(false);
  });
});

describe("unwrapping (RFC 3550 A.1 style)", () => {
  it("extends 16-bit sequence numbers across the wrap, with reordering", () => {
    const u = new SequenceUnwrapper();
    expect([65533, 65534, 65535, 0, 1, 65535, 2, 3].map((s) => u.unwrap(s))).toEqual([
      65533, 65534, 65535, 65536, 65537, 65535, 65538, 65539,
    ]);
  });

  it("extends 32-bit timestamps across the wrap", () => {
    const u = new TimestampUnwrapper();
    const start = 2 ** 32 - 960 * 2;
    const got = [0, 1, 2, 3].map((i) => u.unwrap((start + i * 960) % 2 ** 32));
    expect(got).toEqual([start, start + 960, start + 1920, start + 2880]);
  });

  it("a big backward step is a restart: later values continue from it", () => {
    const u = new SequenceUnwrapper();
    u.unwrap(30000);
    expect(u.unwrap(1000)).toBe(1000); // −29000: beyond MAX_MISORDER, becomes the reference
    expect(u.unwrap(1001)).toBe(1001);
    // 40000 steps forward in 100-step hops never turns into a wrap
    let last = 1001;
    for (let i = 0; i < 400; i++) last = u.unwrap((1001 + (i + 1) * 100) & 0xffff);
    expect(last).toBe(1001 + 40000);
  });

  it("is monotonic for any in-order stream with small random steps (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.array(fc.integer({ min: 1, max: 1000 }), { maxLength: 300 }),
        (start, steps) => {
          const u = new SequenceUnwrapper();
          let raw = start;
          let expected = start;
          expect(u.unwrap(raw)).toBe(expected);
          for (const s of steps) {
            raw = (raw + s) & 0xffff;
            expected += s;
            expect(u.unwrap(raw)).toBe(expected);
          }
        },
      ),
    );
  });
});

describe("SSRC tracking", () => {
  it("follows a new SSRC and ignores the one it left while the new one sends", () => {
    const t = new SsrcTracker();
    expect(t.observe(1, 0)).toBe("first");
    expect(t.observe(1, 20)).toBe("same");
    expect(t.observe(2, 40)).toBe("changed");
    // the old source's stragglers, interleaved with the new source's packets, for a second
    for (let ms = 45; ms < 1045; ms += 20) {
      expect(t.observe(1, ms)).toBe("stale");
      expect(t.observe(2, ms + 10)).toBe("same");
    }
    // three in a row, but the new source sent 60 ms ago: still stragglers
    expect([t.observe(1, 1050), t.observe(1, 1070), t.observe(1, 1095)]).toEqual(["stale", "stale", "stale"]);
    expect(t.ssrc).toBe(2);
  });

  it("follows a source it left back once that source is plainly the one sending", () => {
    // the new source's first packet overtook the old source's only one: the old one looks new
    const t = new SsrcTracker();
    expect(t.observe(2, 50)).toBe("first");
    expect(t.observe(1, 51)).toBe("changed");
    // the real source goes on; the old one is silent: 3 in a row and 100 ms since the old one's
    expect([t.observe(2, 70), t.observe(2, 90), t.observe(2, 110)]).toEqual(["stale", "stale", "stale"]);
    expect(t.observe(2, 130)).toBe("stale"); // 79 ms
    expect(t.observe(2, 151)).toBe("changed"); // 100 ms
    expect(t.ssrc).toBe(2);
    expect(t.observe(2, 170)).toBe("same");
    expect(t.observe(1, 190)).toBe("stale");
  });
});
