import { describe, expect, it } from "vitest";
import type { CodecSpec } from "../../../src/audio/codecs/types.js";
import { loadResampler } from "../../../src/audio/resampler/index.js";
import { VirtualClock } from "../../../src/media/clock.js";
import { parseRtp } from "../../../src/media/rtp/packet.js";
import { AudioSender } from "../../../src/media/send/audio-sender.js";
import { RtpPacketizer } from "../../../src/media/send/packetizer.js";
import { PcmPushSource } from "../../../src/media/sources/pcm-push.js";

function parse(p: Uint8Array) {
  const r = parseRtp(p);
  if (!r.ok) throw new Error(r.error.message);
  return r.packet;
}

describe("RTP packetizer (RFC 3550 §5.1)", () => {
  it("sequence +1, timestamp +samples, SSRC and payload type set, marker on the first packet", () => {
    const pk = new RtpPacketizer({
      payloadType: 111,
      ssrc: 0xdeadbeef,
      clockRate: 48000,
      initialSequence: 100,
      initialTimestamp: 5000,
    });
    const a = parse(pk.packetize(Uint8Array.of(1, 2, 3), 960));
    const b = parse(pk.packetize(Uint8Array.of(4), 960));
    expect(a).toMatchObject({
      payloadType: 111,
      ssrc: 0xdeadbeef,
      sequenceNumber: 100,
      timestamp: 5000,
      marker: true,
    });
    expect(Array.from(a.payload)).toEqual([1, 2, 3]);
    expect(b).toMatchObject({ sequenceNumber: 101, timestamp: 5960, marker: false });
  });

  it("wraps the 16-bit sequence and the 32-bit timestamp", () => {
    const pk = new RtpPacketizer({
      payloadType: 0,
      ssrc: 1,
      clockRate: 8000,
      initialSequence: 65535,
      initialTimestamp: 0xffff_ffff - 100,
    });
    const a = parse(pk.packetize(new Uint8Array(160), 160));
    const b = parse(pk.packetize(new Uint8Array(160), 160));
    expect([a.sequenceNumber, b.sequenceNumber]).toEqual([65535, 0]);
    expect(b.timestamp).toBe(59);
  });

  it("a skipped frame (DTX) advances the timestamp, keeps the sequence, marks the next talkspurt", () => {
    const pk = new RtpPacketizer({
      payloadType: 111,
      ssrc: 1,
      clockRate: 48000,
      initialSequence: 0,
      initialTimestamp: 0,
    });
    pk.packetize(Uint8Array.of(1), 960);
    pk.skip(960);
    pk.skip(960);
    const c = parse(pk.packetize(Uint8Array.of(1), 960));
    expect(c).toMatchObject({ sequenceNumber: 1, timestamp: 2880, marker: true });
    expect(pk.stats()).toMatchObject({ packets: 2, skipped: 2, talkspurts: 2 });
  });

  it("random initial sequence and timestamp by default", () => {
    const seen = new Set<number>();
    for (let i = 0; i < 20; i++)
      seen.add(
        parse(
          new RtpPacketizer({ payloadType: 111, ssrc: 1, clockRate: 48000 }).packetize(Uint8Array.of(1), 960),
        ).timestamp,
      );
    expect(seen.size).toBeGreaterThan(15);
  });
});

describe("audio sender and PCM push source on a virtual clock", () => {
  const OPUS: CodecSpec = { codec: "opus", payloadType: 111, clockRate: 48000, channels: 1 };

  it("application PCM at 16 kHz → 48 kHz frames every 20 ms → Opus RTP; silence when idle is not sent (DTX)", async () => {
    await loadResampler();
    const clock = new VirtualClock();
    const src = new PcmPushSource({ clock });
    const sent: ReturnType<typeof parse>[] = [];
    const sender = new AudioSender({
      codec: OPUS,
      out: { ssrc: 7, send: (p) => sent.push(parse(p)) },
      dtx: true,
    });
    const unsub = src.subscribe(sender);
    // 500 ms of a 16 kHz tone, pushed at once
    const pcm = new Int16Array(8000);
    for (let i = 0; i < pcm.length; i++)
      pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000));
    src.push(pcm, 16000, 1);
    clock.advance(1000); // 50 ticks: ~25 with audio, then silence (underruns, not sent)
    const st = src.stats();
    expect(st.frames).toBe(50);
    expect(st.underruns).toBeGreaterThanOrEqual(24);
    expect(sent.length).toBeGreaterThanOrEqual(24);
    expect(sent.length).toBeLessThanOrEqual(26);
    expect(sent[0]!.marker).toBe(true);
    for (let i = 1; i < sent.length; i++) expect(sent[i]!.timestamp - sent[i - 1]!.timestamp).toBe(960);
    // talk again: the first packet after the pause carries the marker and a timestamp that
    // counts the silent frames
    const before = sent.length;
    const lastTs = sent.at(-1)!.timestamp;
    src.push(pcm, 16000, 1);
    clock.advance(100);
    expect(sent.length).toBeGreaterThan(before);
    expect(sent[before]!.marker).toBe(true);
    expect((sent[before]!.timestamp - lastTs) % 960).toBe(0);
    expect(sent[before]!.timestamp - lastTs).toBeGreaterThan(960 * 20);
    unsub();
    expect(clock.pending).toBe(0); // the source's timer stopped with its last consumer
    sender.close();
  });

  it("bounded buffer: pushing faster than real time drops the oldest audio, counted", async () => {
    await loadResampler();
    const clock = new VirtualClock();
    const src = new PcmPushSource({ clock, maxBufferMs: 200 });
    src.push(new Int16Array(48000), 48000, 1); // 1 s into a 200 ms buffer
    expect(src.stats().droppedMs).toBeCloseTo(800, 6);
    expect(src.stats().bufferedMs).toBeCloseTo(200, 6);
    expect(() => src.push(new Int16Array(10), 11025, 1)).toThrow(/unsupported sample rate/);
  });

  it("stereo 44.1 kHz in, mono 48 kHz frames out, contiguous pts", async () => {
    await loadResampler();
    const clock = new VirtualClock();
    const src = new PcmPushSource({ clock });
    const pts: number[] = [];
    src.subscribe({ onFrame: (f) => void pts.push(f.pts) });
    src.push(new Int16Array(44100 * 2).fill(1000), 44100, 2);
    clock.advance(400);
    expect(pts).toEqual(Array.from({ length: 20 }, (_, i) => i * 960));
  });
});

describe("PcmOut (application audio to a peer)", () => {
  it("pushes 24 kHz stereo PCM out as paced Opus RTP at 48 kHz; close stops the timer", async () => {
    const { createPcmOut } = await import("../../../src/media/profiles/pcm-out.js");
    const clock = new VirtualClock();
    const sent: ReturnType<typeof parse>[] = [];
    const out = await createPcmOut({
      codec: { codec: "opus", payloadType: 96, clockRate: 48000, channels: 1 },
      out: { ssrc: 99, send: (p) => sent.push(parse(p)) },
      clock,
    });
    out.push(new Int16Array(24000 * 2).fill(3000), 24000, 2); // 1 s
    clock.advance(2000);
    expect(sent.length).toBeGreaterThanOrEqual(49);
    expect(sent.length).toBeLessThanOrEqual(51);
    expect(sent.every((p) => p.payloadType === 96 && p.ssrc === 99)).toBe(true);
    expect(out.stats().source.underruns).toBeGreaterThanOrEqual(49);
    out.close();
    expect(clock.pending).toBe(0);
  });
});
