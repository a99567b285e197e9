import { describe, expect, it } from "vitest";
import { CodecOptionsError } from "../../../src/audio/codecs/errors.js";
import { OpusEncoder } from "../../../src/audio/codecs/opus.js";
import type { AudioFrame } from "../../../src/media/frame.js";
import { MAX_BUFFERED } from "../../../src/media/receive/jitter-buffer.js";
import { RtpAudioReceiver } from "../../../src/media/receive/receiver.js";
import { buildRtp } from "../../../src/media/rtp/packet.js";
import { goertzelAmplitude } from "../../audio/codecs/tone-analysis.js";
import { prng, toneFrame } from "../../support/rtp-stream.js";
import { expectWallClockTrue, rms, runScenario } from "./harness.js";

const OPUS = { codec: "opus", payloadType: 111, clockRate: 48000, channels: 1 } as const;

function collect(): { frames: AudioFrame[]; packets: { payload: Uint8Array | null; pts: number }[] } {
  return { frames: [], packets: [] };
}

describe("RtpAudioReceiver edge cases", () => {
  for (const ms of [10, 40, 60]) {
    it(`${ms} ms Opus packets still give 20 ms frames, and each payload reaches the Ogg feed once`, () => {
      const samples = ms * 48;
      const enc = new OpusEncoder({ frameSize: samples });
      const out = collect();
      const r = new RtpAudioReceiver({
        codec: OPUS,
        startMs: 0,
        onFrame: (f) => out.frames.push(f),
        onPacket: (payload, pts) => out.packets.push({ payload, pts }),
      });
      const count = 3000 / ms;
      let now = 0;
      for (let i = 0; i < count; i++) {
        const pcm = new Int16Array(samples);
        for (let k = 0; k < samples; k++)
          pcm[k] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (i * samples + k)) / 48000));
        const sendMs = i * ms;
        for (; now < sendMs; now += 5) r.tick(now);
        r.push(
          buildRtp({
            payloadType: 111,
            sequenceNumber: i,
            timestamp: 1000 + i * samples,
            ssrc: 7,
            payload: enc.encode(pcm),
          }),
          sendMs,
        );
      }
      r.flush(3000);
      expect(out.frames).toHaveLength(150);
      expect(out.frames.map((f) => f.pts)).toEqual(out.frames.map((_, k) => k * 960));
      expect(out.packets.filter((p) => p.payload !== null)).toHaveLength(count);
      expect(out.packets.filter((p) => p.payload === null)).toHaveLength(0);
      expect(r.counters).toMatchObject({ lost: 0, late: 0, concealedMs: 0, silenceMs: 0 });
      expect(rms(out.frames, 10)).toBeGreaterThan(5000);
    });
  }

  it("single losses of a stream with FEC are rebuilt from the next packet's LBRR", () => {
    const stream = { seed: 30, durationMs: 10_000, toneHz: 1000, loss: 0.05 };
    const withFec = runScenario(stream);
    const plcOnly = runScenario(stream, { useFec: false });
    expectWallClockTrue(withFec);
    expect(withFec.receiver.counters.fecMs).toBeGreaterThan(0);
    expect(plcOnly.receiver.counters.fecMs).toBe(0);
    // compare the concealed slots with what the clean stream decodes to there
    const clean = runScenario({ ...stream, loss: 0 });
    const lostSlots = withFec.packets.filter((p) => p.payload === null).map((p) => p.pts / 960);
    expect(lostSlots.length).toBeGreaterThan(10);
    const error = (frames: AudioFrame[]) => {
      let sum = 0;
      for (const k of lostSlots) {
        const a = frames[k].samples;
        const b = clean.frames[k].samples;
        for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
      }
      return Math.sqrt(sum / (lostSlots.length * 960));
    };
    expect(error(withFec.frames)).toBeLessThan(error(plcOnly.frames));
    // and the rebuilt slots keep the tone (not silence)
    const amp = lostSlots.map((k) => goertzelAmplitude(withFec.frames[k].samples, 48000, 1000));
    expect(amp.filter((a) => a > 8000 * 0.9).length).toBeGreaterThan(lostSlots.length / 4);
  });

  it("a corrupt Opus payload is concealed and counted", () => {
    const out = collect();
    const r = new RtpAudioReceiver({ codec: OPUS, startMs: 0, onFrame: (f) => out.frames.push(f) });
    const enc = new OpusEncoder();
    for (let i = 0; i < 50; i++) {
      const payload =
        i === 20
          ? Uint8Array.of(0x0b, 0x00) /* code 3, 0 frames */
          : enc.encode(toneFrame(i, 48000, 440, 8000));
      r.push(buildRtp({ payloadType: 111, sequenceNumber: i, timestamp: i * 960, ssrc: 1, payload }), i * 20);
      r.tick(i * 20);
    }
    r.flush(1000);
    expect(out.frames).toHaveLength(50);
    // the 0-frame code-3 packet has no valid duration: refused at parse time
    expect(r.counters.invalid + r.counters.decodeErrors).toBe(1);
  });

  it("a flood of random packets from a bad client cannot grow memory or break the timeline", () => {
    const out = collect();
    const r = new RtpAudioReceiver({ codec: OPUS, startMs: 0, onFrame: (f) => out.frames.push(f) });
    const rand = prng(99);
    const payload = new OpusEncoder().encode(new Int16Array(960));
    for (let t = 0; t < 2000; t += 20) {
      for (let i = 0; i < 200; i++) {
        const seq = Math.floor(rand() * 65536);
        const ts = Math.floor(rand() * 48000) + t * 48; // all within ~1 s ahead: the hardest case
        r.push(buildRtp({ payloadType: 111, sequenceNumber: seq, timestamp: ts, ssrc: 1, payload }), t);
      }
      r.tick(t);
      expect((r as unknown as { buffer: { size: number } }).buffer.size).toBeLessThanOrEqual(MAX_BUFFERED);
    }
    r.flush(2000);
    expect(out.frames.map((f) => f.pts)).toEqual(out.frames.map((_, k) => k * 960));
    // 2 s of call, plus at the end what was still buffered: nothing that arrived is lost at the
    // end, and the flood's packets are stamped at most 1 s ahead of their arrival
    expect(out.frames.length).toBeGreaterThanOrEqual(100);
    expect(out.frames.length).toBeLessThanOrEqual(100 + 1000 / 20);
  });

  it("refuses a codec spec whose clock rate the codec cannot run at; G.711 is always mono", () => {
    expect(() => new RtpAudioReceiver({ codec: { ...OPUS, clockRate: 8000 }, onFrame: () => {} })).toThrow(
      CodecOptionsError,
    );
    const r = new RtpAudioReceiver({
      codec: { codec: "pcmu", payloadType: 0, clockRate: 8000, channels: 2 },
      onFrame: () => {},
    });
    expect(r.channels).toBe(1);
    expect(r.frameSamples).toBe(160);
  });

  it("decodes straight to a lower output rate, and refuses one the codec cannot decode to", () => {
    const opus16k = new RtpAudioReceiver({ codec: OPUS, outputRate: 16000, onFrame: () => {} });
    expect([opus16k.rate, opus16k.frameSamples]).toEqual([16000, 320]);
    opus16k.close();
    // 44.1 kHz does not divide the 48 kHz clock; 32 kHz divides nothing libopus decodes to
    for (const outputRate of [44100, 32000])
      expect(() => new RtpAudioReceiver({ codec: OPUS, outputRate, onFrame: () => {} })).toThrow(
        CodecOptionsError,
      );
    expect(
      () =>
        new RtpAudioReceiver({
          codec: { codec: "pcmu", payloadType: 0, clockRate: 8000, channels: 1 },
          outputRate: 16000,
          onFrame: () => {},
        }),
    ).toThrow(CodecOptionsError);
  });

  it("after flush/close, pushes and ticks are ignored", () => {
    const out = collect();
    const r = new RtpAudioReceiver({ codec: OPUS, startMs: 0, onFrame: (f) => out.frames.push(f) });
    r.tick(100);
    expect(out.frames).toHaveLength(3); // slots 0, 1, 2 are due at 60, 80, 100 ms (40 ms depth)
    // no packet ever came: the call has no media, nothing is added at the end
    r.flush(100);
    expect(out.frames).toHaveLength(3);
    // none of it is the call's media (a recording of it is empty): all of it is leading silence
    expect(r.counters.frames).toBe(0);
    expect(r.counters.leadingMs).toBe(60);
    r.push(
      buildRtp({ payloadType: 111, sequenceNumber: 1, timestamp: 1, ssrc: 1, payload: Uint8Array.of(0xf8) }),
      120,
    );
    r.tick(10_000);
    r.flush(20_000);
    expect(out.frames).toHaveLength(3);
  });

  it("a long event-loop stall is caught up on the next tick, wall-true", () => {
    const run = runScenario({ seed: 31, durationMs: 4000 }, {}, 1000);
    expectWallClockTrue(run, 1000);
  });
});
