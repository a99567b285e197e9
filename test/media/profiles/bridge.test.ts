import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OpusDecoder } from "../../../src/audio/codecs/opus.js";
import type { CodecSpec } from "../../../src/audio/codecs/types.js";
import { VirtualClock } from "../../../src/media/clock.js";
import { BRIDGE_FRAME_SAMPLES, createBridgeSession } from "../../../src/media/profiles/bridge.js";
import { CLEAR_FADE_MS, MARK_ANSWERS_PER_TICK } from "../../../src/media/profiles/pcm-out.js";
import { concat } from "../../audio/codecs/tone-analysis.js";
import { toneRatio } from "../../support/client-peer.js";
import { driveOnVirtualClock, rtpStream, type StreamOptions, toneFrame } from "../../support/rtp-stream.js";
import { dominantHz, parseWav } from "../sinks/wav.js";
import { capture } from "./rtp-capture.js";

const OPUS: CodecSpec = { codec: "opus", payloadType: 111, clockRate: 48000, channels: 1 };
const PCMU: CodecSpec = { codec: "pcmu", payloadType: 0, clockRate: 8000, channels: 1 };

/** `ms` (a multiple of 20) of a continuous tone */
const tone = (hz: number, ms: number, rate = 16000, amplitude = 8000): Int16Array =>
  concat(Array.from({ length: ms / 20 }, (_, f) => toneFrame(f, rate, hz, amplitude)));

/** the session's caller-audio frames, checked frame by frame as they arrive */
function collect() {
  const frames: { samples: Int16Array; pts: number }[] = [];
  return { frames, onPcm: (samples: Int16Array, pts: number) => frames.push({ samples, pts }) };
}

describe("bridge profile: caller audio out as 20 ms 16 kHz frames (synthetic RTP, virtual clock)", () => {
  // [name, codec, stream, least tone purity in 1–2 s (concealed losses smear the spectrum)]
  const scenarios: Array<[string, CodecSpec, Partial<StreamOptions>, number]> = [
    ["Opus clean", OPUS, {}, 0.95],
    [
      "Opus 10% loss + jitter + 1 s outage",
      OPUS,
      { loss: 0.1, jitterMs: 25, outages: [{ fromMs: 2000, toMs: 3000 }] },
      0.6,
    ],
    ["PCMU (8 kHz resampled up)", PCMU, { codec: "pcmu" }, 0.95],
  ];
  it.each(scenarios)(
    "%s: contiguous 320-sample frames, the call's length, 440 Hz",
    async (_n, codec, extra, purity) => {
      const CALL_MS = 5000;
      const stream = rtpStream({ seed: 7, durationMs: CALL_MS, toneHz: 440, ...extra });
      const got = collect();
      const bridge = await createBridgeSession({ codec, onPcm: got.onPcm, startMs: 0 });
      driveOnVirtualClock(
        stream,
        { push: (d, t) => bridge.pushRtp(d, t), tick: (t) => bridge.tick(t), flush: (t) => bridge.close(t) },
        CALL_MS,
      );
      const { frames } = got;
      expect(frames.every((f) => f.samples.length === BRIDGE_FRAME_SAMPLES)).toBe(true);
      for (let i = 1; i < frames.length; i++)
        expect(frames[i]!.pts).toBe(frames[i - 1]!.pts + BRIDGE_FRAME_SAMPLES);
      // live: every slot from the track's start is delivered (the leading silence and the filler
      // after the last packet too); the call's media is as long as what was delivered (±1 frame):
      // gaps are filled, never collapsed
      const rx = bridge.stats().receiver;
      expect(frames.length * 20).toBe(rx.frames * 20 + rx.leadingMs + rx.trailingMs);
      const sentMs = CALL_MS - stream.lostAtStartMs - stream.lostAtEndMs;
      expect(Math.abs(rx.frames * 20 - sentMs)).toBeLessThanOrEqual(20);
      const pcm = concat(frames.map((f) => f.samples));
      const second = pcm.subarray(16_000, 32_000); // 1–2 s: before the outage
      expect(dominantHz(second, 16000)).toBe(440);
      expect(toneRatio(second, 16000, 440)).toBeGreaterThan(purity);
      expect(bridge.bridgeStats().framesOut).toBe(frames.length);
      expect(bridge.stats().timelineMs).toBe(rx.frames * 20);
    },
  );

  it.each([
    ["Opus (decoded at the agent's rate)", OPUS],
    ["PCMU (resampled up: the resampler's held samples must not hold a frame back)", PCMU],
  ] as const)("%s: each frame reaches the agent in the push of its packet", async (_n, codec) => {
    const stream = rtpStream({ seed: 3, durationMs: 1000, codec: codec.codec === "opus" ? "opus" : "pcmu" });
    let now = 0;
    const at: number[] = [];
    const bridge = await createBridgeSession({ codec, onPcm: () => at.push(now) });
    const arrivals: number[] = [];
    for (const d of stream.datagrams) {
      now = d.arrivalMs;
      arrivals.push(now);
      bridge.pushRtp(d.datagram, now);
      bridge.tick(now);
    }
    // the first packet waits its due time (an earlier one might still come), then every frame
    // leaves at its own packet's arrival: frame k with packet k
    expect(at.length).toBeGreaterThanOrEqual(arrivals.length - 1);
    for (let k = 5; k < at.length; k++)
      if (at[k] !== arrivals[k]) expect.fail(`frame ${k} at ${at[k]}, its packet at ${arrivals[k]}`);
    bridge.close(now);
  });

  it("a 1 kHz caller tone comes out as 1 kHz (the frequency is really checked)", async () => {
    const stream = rtpStream({ seed: 2, durationMs: 2000, toneHz: 1000 });
    const got = collect();
    const bridge = await createBridgeSession({ codec: OPUS, onPcm: got.onPcm, startMs: 0 });
    driveOnVirtualClock(
      stream,
      { push: (d, t) => bridge.pushRtp(d, t), tick: (t) => bridge.tick(t), flush: (t) => bridge.close(t) },
      2000,
    );
    expect(dominantHz(concat(got.frames.map((f) => f.samples)).subarray(8000, 24000), 16000)).toBe(1000);
  });

  it("a consumer that throws is counted and the frames keep coming", async () => {
    const stream = rtpStream({ seed: 3, durationMs: 1000 });
    let calls = 0;
    const bridge = await createBridgeSession({
      codec: OPUS,
      startMs: 0,
      onPcm: () => {
        calls++;
        throw new Error("application consumer bug");
      },
    });
    driveOnVirtualClock(
      stream,
      { push: (d, t) => bridge.pushRtp(d, t), tick: (t) => bridge.tick(t), flush: (t) => bridge.close(t) },
      1000,
    );
    // every frame delivered: the 50 of the call and the leading silence (startMs 0, 30 ms delay)
    const rx = bridge.stats().receiver;
    expect(rx.frames).toBe(50);
    expect(calls).toBe(50 + rx.leadingMs / 20 + rx.trailingMs / 20);
    expect(bridge.bridgeStats().onPcmErrors).toBe(calls);
    expect(bridge.stats().errors).toBe(0);
  });
});

describe("bridge profile: application audio back to the caller", () => {
  it("16 kHz PCM pushed in leaves as valid RTP that decodes back to its 600 Hz tone", async () => {
    const clock = new VirtualClock(0);
    const out = capture();
    const bridge = await createBridgeSession({
      codec: OPUS,
      out: { ssrc: 0x1234abcd, send: out.send },
      onPcm: () => {},
      clock,
      startMs: 0,
    });
    // the application sends 2 s in uneven chunks, all at once (faster than real time, as TTS does)
    const audio = tone(600, 2000);
    for (let i = 0; i < audio.length; i += 1234)
      expect(bridge.pushPcm(audio.subarray(i, i + 1234))).toBe(true);
    expect(bridge.queuedMs).toBeGreaterThan(1900);
    clock.advance(2500);
    bridge.close(clock.now());
    const { sent } = out;
    // paced: 2 s of audio is 100 packets of 20 ms (DTX may skip the silence after it)
    expect(sent.length).toBeGreaterThanOrEqual(100);
    expect(sent.every((s) => s.ssrc === 0x1234abcd && s.pt === 111)).toBe(true);
    for (let i = 1; i < sent.length; i++) expect(sent[i]!.seq).toBe((sent[i - 1]!.seq + 1) & 0xffff);
    const dec = new OpusDecoder({ channels: 1 });
    const pcm = concat(sent.slice(0, 100).map((s) => dec.decode(s.payload)));
    dec.destroy();
    const mid = pcm.subarray(24_000, 72_000);
    expect(dominantHz(mid, 48000)).toBe(600);
    expect(toneRatio(mid, 48000, 600)).toBeGreaterThan(0.9);
    expect(bridge.stats().sender!.packets).toBe(sent.length);
    expect(bridge.bridgeStats().pushedMs).toBe(2000);
  });

  it("clear() empties the queue (barge-in): what was queued is never sent", async () => {
    const clock = new VirtualClock(0);
    const out = capture();
    const bridge = await createBridgeSession({
      codec: OPUS,
      out: { ssrc: 5, send: out.send },
      onPcm: () => {},
      clock,
      startMs: 0,
    });
    bridge.pushPcm(tone(600, 3000));
    clock.advance(500);
    const beforeClear = out.sent.length;
    expect(bridge.queuedMs).toBeGreaterThan(2000);
    bridge.clear();
    expect(bridge.queuedMs).toBeLessThanOrEqual(CLEAR_FADE_MS); // only the fade-out is left
    clock.advance(2500);
    // with DTX on, nothing but silence (mostly skipped) goes out after the clear: far fewer
    // packets than the 2.5 s of tone that was queued, and what went out is not the tone
    const after = out.sent.slice(beforeClear);
    expect(after.length).toBeLessThan(40);
    const dec = new OpusDecoder({ channels: 1 });
    const tail = concat(after.map((s) => dec.decode(s.payload)));
    dec.destroy();
    if (tail.length > 960) expect(toneRatio(tail.subarray(960), 48000, 600)).toBeLessThan(0.2);
    expect(bridge.bridgeStats().clears).toBe(1);
    bridge.close(clock.now());
  });

  it("a receive-only bridge refuses application audio (counted), never throws", async () => {
    const bridge = await createBridgeSession({ codec: OPUS, onPcm: () => {}, startMs: 0 });
    expect(bridge.out).toBeUndefined();
    expect(bridge.pushPcm(tone(600, 100))).toBe(false);
    bridge.clear();
    expect(bridge.bridgeStats().refusedPushes).toBe(1);
    bridge.close(0);
  });
});

describe("bridge profile: the agent's rate", () => {
  it.each([8000, 24000, 48000] as const)(
    "%i Hz: frames of rate/50 samples with contiguous pts, the caller's 440 Hz in them, audio back at that rate",
    async (rate) => {
      const stream = rtpStream({ seed: 5, durationMs: 2000, toneHz: 440 });
      const got = collect();
      const clock = new VirtualClock(0);
      const out = capture();
      const bridge = await createBridgeSession({
        codec: OPUS,
        rate,
        onPcm: got.onPcm,
        startMs: 0,
        out: { ssrc: 9, send: out.send },
        clock,
      });
      driveOnVirtualClock(
        stream,
        { push: (d, t) => bridge.pushRtp(d, t), tick: (t) => bridge.tick(t), flush: () => {} },
        2000,
      );
      const n = rate / 50;
      expect(got.frames.length).toBeGreaterThanOrEqual(95); // the rest is in the jitter buffer
      expect(got.frames.every((f) => f.samples.length === n)).toBe(true);
      for (let i = 1; i < got.frames.length; i++) expect(got.frames[i]!.pts).toBe(got.frames[i - 1]!.pts + n);
      const pcm = concat(got.frames.map((f) => f.samples)).subarray(rate / 2, (rate * 3) / 2);
      expect(dominantHz(pcm, rate)).toBe(440);
      // audio back at the agent's rate plays as 600 Hz, as long as it was
      expect(bridge.pushPcm(tone(600, 1000, rate))).toBe(true);
      clock.advance(1200);
      const dec = new OpusDecoder({ channels: 1 });
      const back = concat(out.sent.map((s) => dec.decode(s.payload)));
      dec.destroy();
      expect(out.sent.length).toBeGreaterThanOrEqual(50);
      expect(dominantHz(back.subarray(4800, 43200), 48000)).toBe(600);
      bridge.close(clock.now());
    },
  );
});

describe("bridge profile: marks and clear, to the frame", () => {
  async function sendingBridge() {
    const clock = new VirtualClock(0);
    const out = capture();
    const sentAt: number[] = [];
    const bridge = await createBridgeSession({
      codec: OPUS,
      out: {
        ssrc: 7,
        send: (p: Uint8Array) => {
          sentAt.push(clock.now());
          out.send(p);
        },
      },
      onPcm: () => {},
      clock,
      startMs: 0,
    });
    return { clock, out, sentAt, bridge };
  }

  it("a mark is answered when the last sample queued before it has left as RTP, not when it was queued", async () => {
    const { clock, out, sentAt, bridge } = await sendingBridge();
    const answered: Array<{ name: string; how: string; at: number; packets: number }> = [];
    const mark = (name: string) =>
      bridge.mark((how) => answered.push({ name, how, at: clock.now(), packets: out.sent.length }));
    bridge.pushPcm(tone(600, 500)); // 25 frames
    mark("a");
    bridge.pushPcm(tone(600, 320).subarray(0, 4960)); // 310 ms = 15.5 frames: the last frame is half audio
    mark("b");
    expect(answered).toEqual([]); // queued is not played
    clock.advance(2000);
    expect(answered.map((a) => [a.name, a.how])).toEqual([
      ["a", "played"],
      ["b", "played"],
    ]);
    // "a" comes with the 25th packet, at its send time; "b" with the 41st (the half-filled frame)
    expect(answered[0]!.packets).toBe(25);
    expect(answered[0]!.at).toBe(sentAt[24]);
    expect(answered[1]!.packets).toBe(41);
    expect(answered[1]!.at).toBe(sentAt[40]);
    // nothing queued: a mark is answered at once
    mark("c");
    expect(answered.at(-1)).toMatchObject({ name: "c", how: "played", at: clock.now() });
    bridge.close(clock.now());
  });

  it("clear answers every pending mark, fades out within CLEAR_FADE_MS, and the RTP timeline goes on with wall time (no burst, no gap)", async () => {
    const { clock, out, sentAt, bridge } = await sendingBridge();
    const answered: string[] = [];
    bridge.pushPcm(tone(600, 2000, 16000, 12000));
    bridge.mark((how) => answered.push(`1:${how}`));
    bridge.pushPcm(tone(600, 1000, 16000, 12000));
    bridge.mark((how) => answered.push(`2:${how}`));
    clock.advance(510);
    const before = out.sent.length;
    bridge.clear();
    expect(answered).toEqual(["1:cleared", "2:cleared"]);
    // the agent speaks again right away: its first sample leaves in the next frame (≤ 20 ms)
    bridge.pushPcm(tone(1000, 400, 16000, 12000));
    const tClear = clock.now();
    clock.advance(600);
    const after = out.sent.slice(before);
    const afterAt = sentAt.slice(before);
    expect(afterAt[0]! - tClear).toBeLessThanOrEqual(20);
    // one packet per 20 ms of wall time on the pacer's grid, sequence and timestamp contiguous
    // across the clear (the talk-spurt's first packet left at once, at the push: slot 0 early)
    // (the first packet after the clear too: it left with the push, ahead of its tick)
    const all = out.sent;
    expect(sentAt[0]).toBe(0);
    expect(afterAt[0]).toBe(tClear);
    for (let i = 1; i < all.length; i++) {
      expect(all[i]!.seq).toBe((all[i - 1]!.seq + 1) & 0xffff);
      expect((all[i]!.ts - all[i - 1]!.ts) >>> 0).toBe(960);
      if (i !== before) expect(sentAt[i]!).toBe(20 * (i + 1));
    }
    // the frame after the clear: the old tone's fade cross-faded into the new 1 kHz, then the 1 kHz
    const dec = new OpusDecoder({ channels: 1 });
    const pcm = concat(after.map((s) => dec.decode(s.payload)));
    dec.destroy();
    expect(dominantHz(pcm.subarray(2 * 960, 18 * 960), 48000)).toBe(1000);
    expect(toneRatio(pcm.subarray(2 * 960, 18 * 960), 48000, 600)).toBeLessThan(0.05);
    expect(bridge.bridgeStats().clears).toBe(1);
    bridge.close(clock.now());
  });

  it("the agent's first audio after a silence leaves at once, not at the next tick, and the timeline stays on the grid", async () => {
    const { clock, out, sentAt, bridge } = await sendingBridge();
    clock.advance(207); // ten silent ticks (DTX: nothing sent), 7 ms into the next period
    expect(out.sent.length).toBe(0);
    bridge.pushPcm(tone(600, 100)); // five frames
    expect(sentAt).toEqual([207]); // the first left with the push
    clock.advance(200);
    // the rest on the 20 ms grid (the tick at 220 was the first frame's slot: skipped)
    expect(sentAt).toEqual([207, 240, 260, 280, 300]);
    const ts = out.sent.map((p) => p.ts);
    for (let i = 1; i < ts.length; i++) expect((ts[i]! - ts[i - 1]!) >>> 0).toBe(960);
    // a partial frame does not leave early (it would be half silence): it waits for its tick
    clock.advance(300);
    const n = out.sent.length;
    bridge.pushPcm(tone(600, 20).subarray(0, 100));
    expect(out.sent.length).toBe(n);
    bridge.close(clock.now());
  });

  it(`a clear of thousands of marks answers ${MARK_ANSWERS_PER_TICK} at once and the rest on the next ticks, in order; a mark after them waits its turn`, async () => {
    const { clock, bridge } = await sendingBridge();
    const answered: string[] = [];
    bridge.pushPcm(tone(600, 2000));
    // 3000 marks on the 2 s queued (a mark per 10 samples at 16 kHz)
    const chunk = tone(600, 20).subarray(0, 10);
    for (let i = 0; i < 3000; i++) {
      bridge.pushPcm(chunk);
      bridge.mark((how) => answered.push(`${i}:${how}`));
    }
    expect(bridge.pendingMarks).toBe(3000);
    bridge.clear();
    // the node's shared tick is not held for 3000 socket writes
    expect(answered).toHaveLength(MARK_ANSWERS_PER_TICK);
    // nothing is queued now, but this mark is answered after the 3000, not before
    bridge.mark((how) => answered.push(`late:${how}`));
    expect(bridge.pendingMarks).toBe(3000 - MARK_ANSWERS_PER_TICK + 1);
    clock.advance(20 * Math.ceil(3001 / MARK_ANSWERS_PER_TICK));
    expect(answered).toEqual([...Array.from({ length: 3000 }, (_, i) => `${i}:cleared`), "late:played"]);
    expect(bridge.pendingMarks).toBe(0);
    // owed answers are paid at the end of the call too
    bridge.pushPcm(tone(600, 1000));
    for (let i = 0; i < 600; i++) bridge.mark((how) => answered.push(`end:${how}`));
    bridge.clear();
    bridge.close(clock.now());
    expect(answered.filter((a) => a.startsWith("end:"))).toHaveLength(600);
  });

  it("marks still pending at the end of the call are answered (cleared), never lost", async () => {
    const { clock, bridge } = await sendingBridge();
    const answered: string[] = [];
    bridge.pushPcm(tone(600, 1000));
    bridge.mark((how) => answered.push(how));
    clock.advance(100);
    bridge.close(clock.now());
    expect(answered).toEqual(["cleared"]);
  });
});

describe("bridge profile: the call recorded on two channels (record)", () => {
  it("one stereo WAV as long as the call: the caller's 440 Hz left, the agent's 600 Hz right where it played, silent after its clear", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rtcgw-bridge-rec-"));
    const clock = new VirtualClock(0);
    const out = capture();
    const stream = rtpStream({ seed: 11, durationMs: 3000, toneHz: 440 });
    const bridge = await createBridgeSession({
      codec: OPUS,
      onPcm: () => {},
      out: { ssrc: 3, send: out.send },
      clock,
      record: { dir, sessionId: "rec-two-channel-0001" },
    });
    let i = 0;
    for (let now = 0; now < 3000; now += 10) {
      while (i < stream.arrivals.length && stream.arrivals[i]!.arrivalMs <= now) {
        bridge.pushRtp(stream.arrivals[i]!.datagram, stream.arrivals[i]!.arrivalMs);
        i++;
      }
      if (now === 1000) bridge.pushPcm(tone(600, 1500, 16000, 8000)); // the agent speaks at 1.0 s
      if (now === 1800) bridge.clear(); // barge-in at 1.8 s
      bridge.tick(now);
      clock.advance(10);
    }
    const res = bridge.close(3000);
    expect(res?.wav).toBe(join(dir, "rec-two-channel-0001.wav"));
    const w = parseWav(res!.wav!);
    expect(w.channels).toBe(2);
    expect(w.rate).toBe(16000);
    const frames = w.samples.length / 2;
    expect(Math.abs(frames / 16 - 3000)).toBeLessThanOrEqual(40); // as long as the call
    const left = new Int16Array(frames);
    const right = new Int16Array(frames);
    for (let k = 0; k < frames; k++) {
      left[k] = w.samples[2 * k]!;
      right[k] = w.samples[2 * k + 1]!;
    }
    const ms = (a: number, b: number) => [(a * 16000) / 1000, (b * 16000) / 1000] as const;
    const rms = (x: Int16Array) => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / Math.max(1, x.length));
    // left: the caller throughout (past the jitter buffer's start), nothing of the agent
    expect(dominantHz(left.subarray(...ms(200, 2800)), 16000)).toBe(440);
    expect(toneRatio(left.subarray(...ms(200, 2800)), 16000, 600)).toBeLessThan(0.05);
    // right: silent before the agent spoke, its 600 Hz from ~1.0 s to the clear at 1.8 s, silent after
    expect(rms(right.subarray(...ms(0, 950)))).toBeLessThan(50);
    expect(dominantHz(right.subarray(...ms(1100, 1750)), 16000)).toBe(600);
    expect(toneRatio(right.subarray(...ms(1100, 1750)), 16000, 440)).toBeLessThan(0.05);
    expect(rms(right.subarray(...ms(1860, 3000)))).toBeLessThan(50);
    // where the agent starts and stops, to the frame: 600 Hz begins within 40 ms of 1.0 s, ends within 40 ms of 1.8 s
    const onset = right.findIndex((v, k) => k > ms(900, 0)[0] && Math.abs(v) > 2000);
    expect(Math.abs(onset / 16 - 1000)).toBeLessThanOrEqual(40);
    let last = 0;
    for (let k = 0; k < frames; k++) if (Math.abs(right[k]!) > 2000) last = k;
    expect(Math.abs(last / 16 - 1800)).toBeLessThanOrEqual(40);
  });
});
