import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { OpusDecoder } from "../../../src/audio/codecs/opus.js";
import type { CodecSpec } from "../../../src/audio/codecs/types.js";
import { createEchoSession, createIngestSession, listen, WavWriter } from "../../../src/media/index.js";
import { ECHO_OPUS_COMPLEXITY } from "../../../src/media/profiles/echo.js";
import { toneRatio } from "../../support/client-peer.js";
import { driveOnVirtualClock, rtpStream, type StreamOptions } from "../../support/rtp-stream.js";
import { dominantHz, parseWav } from "../sinks/wav.js";
import { capture, type Sent } from "./rtp-capture.js";

const OPUS: CodecSpec = { codec: "opus", payloadType: 111, clockRate: 48000, channels: 1 };
const CALL_MS = 10_000;
const dir = mkdtempSync(join(tmpdir(), "rtcgw-echo-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** decode the echoed packets with a fresh libopus decoder, in sequence order */
function decodeAll(sent: Sent[]): Int16Array {
  const dec = new OpusDecoder({ channels: 1 });
  const parts = sent.map((s) => dec.decode(s.payload));
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  dec.destroy();
  return out;
}

const scenarios: Array<[string, Partial<StreamOptions>]> = [
  ["clean", {}],
  ["10% loss + jitter", { loss: 0.1, jitterMs: 25 }],
  ["2 s outage", { outages: [{ fromMs: 3000, toMs: 5000 }] }],
  ["timestamp jump + SSRC change", { tsJumps: [{ atMs: 2000, delta: 2 ** 31 }], ssrcChanges: [6000] }],
];

describe("echo profile end to end (synthetic RTP in, RTP out, virtual clock)", () => {
  it.each(scenarios)(
    "%s: one packet per 20 ms of call, valid RTP, decodes back to the 440 Hz tone",
    async (name, extra) => {
      const stream = rtpStream({ seed: 5, durationMs: CALL_MS, toneHz: 440, ...extra });
      const out = capture();
      const echo = await createEchoSession({
        codec: OPUS,
        out: { ssrc: 0xabcdef01, send: out.send },
        startMs: 0,
      });
      // record what the echo hears, beside it on the same relay
      const wavPath = join(dir, `echo-${name.replace(/[^a-z0-9]+/gi, "_")}.wav`);
      echo.inbound.subscribe(new WavWriter(wavPath, { rate: 16000, channels: 1 }), {
        rate: 16000,
        channels: 1,
      });
      driveOnVirtualClock(
        stream,
        { push: (d, t) => echo.pushRtp(d, t), tick: (t) => echo.tick(t), flush: (t) => echo.close(t) },
        CALL_MS,
      );
      const { sent } = out;
      // the echo's output is as long as the call (±1 frame): the timeline never collapsed a gap
      expect(Math.abs(sent.length * 20 - CALL_MS)).toBeLessThanOrEqual(20);
      // RFC 3550: our SSRC and payload type, sequence +1 and timestamp +960 per packet, marker first
      expect(sent.every((s) => s.ssrc === 0xabcdef01 && s.pt === 111)).toBe(true);
      for (let i = 1; i < sent.length; i++) {
        expect(sent[i]!.seq).toBe((sent[i - 1]!.seq + 1) & 0xffff);
        expect(sent[i]!.ts).toBe((sent[i - 1]!.ts + 960) >>> 0);
      }
      expect(sent[0]!.marker).toBe(true);
      expect(sent.slice(1).some((s) => s.marker)).toBe(false);
      // decoded back: the tone's frequency is kept through 48k → 16k → 48k and two Opus generations
      const pcm = decodeAll(sent);
      expect(dominantHz(pcm.subarray(48_000, 72_000), 48000)).toBe(440);
      const st = echo.stats();
      expect(st.sender!.packets).toBe(sent.length);
      // the recording beside the echo is the call's length too (±20 ms) and holds the tone
      const w = parseWav(wavPath);
      expect(Math.abs((w.dataBytes / 32000) * 1000 - CALL_MS)).toBeLessThanOrEqual(20);
      expect(dominantHz(w.samples.subarray(16_000, 24_000), 16000)).toBe(440);
      // the decoded echo is as long as the call (±20 ms)
      expect(Math.abs(pcm.length / 48 - CALL_MS)).toBeLessThanOrEqual(20);
      expect(st.timelineMs).toBe(CALL_MS);
    },
  );

  it("a 1 kHz tone stays 1 kHz (the frequency is really checked)", async () => {
    const stream = rtpStream({ seed: 1, durationMs: 3000, toneHz: 1000 });
    const out = capture();
    const echo = await createEchoSession({ codec: OPUS, out: { ssrc: 1, send: out.send }, startMs: 0 });
    driveOnVirtualClock(
      stream,
      { push: (d, t) => echo.pushRtp(d, t), tick: (t) => echo.tick(t), flush: (t) => echo.close(t) },
      3000,
    );
    const pcm = decodeAll(out.sent);
    expect(dominantHz(pcm.subarray(48_000, 72_000), 48000)).toBe(1000);
  });
});

describe("echo encoder complexity (the echo's main CPU cost)", () => {
  const rms = (x: Int16Array) => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);
  /** echo a voice-band tone at one complexity; the decoded output's frequency, level, purity */
  async function echoAt(complexity: number | undefined, hz: number) {
    const stream = rtpStream({ seed: 3, durationMs: 3000, toneHz: hz, amplitude: 8000 });
    const out = capture();
    const echo = await createEchoSession({
      codec: OPUS,
      out: { ssrc: 7, send: out.send },
      startMs: 0,
      ...(complexity !== undefined ? { encoderComplexity: complexity } : {}),
    });
    driveOnVirtualClock(
      stream,
      { push: (d, t) => echo.pushRtp(d, t), tick: (t) => echo.tick(t), flush: (t) => echo.close(t) },
      3000,
    );
    const pcm = decodeAll(out.sent).subarray(48_000, 120_000);
    return { hz: dominantHz(pcm, 48000), level: rms(pcm), purity: toneRatio(pcm, 48000, hz) };
  }

  it.each([10, 5, 3, 1, undefined])(
    "complexity %s: the tone comes back at its frequency, its level within 1 dB of the input",
    async (complexity) => {
      for (const hz of [440, 1000]) {
        const r = await echoAt(complexity, hz);
        expect(r.hz).toBe(hz);
        // input: a sine of peak 8000 → RMS 8000/√2
        expect(Math.abs(20 * Math.log10(r.level / (8000 / Math.SQRT2)))).toBeLessThan(1);
        expect(r.purity).toBeGreaterThan(0.95);
        if (process.env.ECHO_VERBOSE)
          console.log(complexity ?? "default", hz, r.level.toFixed(0), r.purity.toFixed(4));
      }
    },
  );

  it("the echo encodes at ECHO_OPUS_COMPLEXITY unless told otherwise (read back from libopus), and a bad one is a typed error", async () => {
    const byDefault = await createEchoSession({ codec: OPUS, out: { ssrc: 7, send: () => {} }, startMs: 0 });
    expect(byDefault.sender.encoderComplexity).toBe(ECHO_OPUS_COMPLEXITY);
    byDefault.close(0);
    const asked = await createEchoSession({
      codec: OPUS,
      out: { ssrc: 7, send: () => {} },
      startMs: 0,
      encoderComplexity: 5,
    });
    expect(asked.sender.encoderComplexity).toBe(5);
    asked.close(0);
    await expect(
      createEchoSession({ codec: OPUS, out: { ssrc: 7, send: () => {} }, startMs: 0, encoderComplexity: 11 }),
    ).rejects.toThrow(/complexity must be 0..10/);
  });
});

describe("WHEP listeners through the relay", () => {
  it("each listener hears the source; one stops, the others go on; a throwing send is counted", async () => {
    const stream = rtpStream({ seed: 9, durationMs: 4000, toneHz: 440 });
    const ingest = await createIngestSession({ codec: OPUS, startMs: 0 });
    const a = capture();
    const b = capture();
    const la = listen(ingest.inbound, { codec: OPUS, out: { ssrc: 10, send: a.send } });
    const lb = listen(ingest.inbound, { codec: OPUS, out: { ssrc: 11, send: b.send } });
    let thrown = 0;
    const lc = listen(ingest.inbound, {
      codec: { codec: "pcmu", payloadType: 0, clockRate: 8000, channels: 1 },
      out: {
        ssrc: 12,
        send: () => {
          thrown++;
          throw new Error("socket gone");
        },
      },
    });
    let stopped = false;
    driveOnVirtualClock(
      stream,
      {
        push: (d, t) => ingest.pushRtp(d, t),
        tick: (t) => {
          if (t >= 2000 && !stopped) {
            la.stop();
            stopped = true;
          }
          ingest.tick(t);
        },
        flush: (t) => ingest.close(t),
      },
      4000,
    );
    expect(a.sent.length).toBeGreaterThanOrEqual(95); // stopped at 2 s (minus jitter depth)
    expect(a.sent.length).toBeLessThanOrEqual(100);
    expect(Math.abs(b.sent.length - 200)).toBeLessThanOrEqual(2);
    expect(dominantHz(decodeAll(b.sent).subarray(48_000, 72_000), 48000)).toBe(440);
    expect(lc.stats().sender.sendErrors).toBe(thrown);
    expect(thrown).toBeGreaterThan(150);
    expect(ingest.inbound.blackHole.frames).toBe(200); // the black hole consumed from the first frame
    lb.stop();
    lc.stop();
    expect(ingest.inbound.relay.attached).toBe(false);
  });
});

describe("echo over G.711", () => {
  it("PCMU 8 kHz: 8k → 16k → 8k, one 160-sample packet per 20 ms, the tone comes back", async () => {
    const { decodeUlaw } = await import("../../../src/audio/codecs/g711.js");
    const PCMU: CodecSpec = { codec: "pcmu", payloadType: 0, clockRate: 8000, channels: 1 };
    const stream = rtpStream({ seed: 2, durationMs: 4000, codec: "pcmu", toneHz: 440, loss: 0.05 });
    const out = capture();
    const echo = await createEchoSession({ codec: PCMU, out: { ssrc: 3, send: out.send }, startMs: 0 });
    driveOnVirtualClock(
      stream,
      { push: (d, t) => echo.pushRtp(d, t), tick: (t) => echo.tick(t), flush: (t) => echo.close(t) },
      4000,
    );
    expect(Math.abs(out.sent.length * 20 - 4000)).toBeLessThanOrEqual(20);
    expect(out.sent.every((s) => s.pt === 0 && s.payload.length === 160)).toBe(true);
    const pcm = new Int16Array(out.sent.flatMap((s) => [...decodeUlaw(s.payload)]));
    expect(dominantHz(pcm.subarray(8000, 16000), 8000)).toBe(440);
  });
});

describe("echo under a stalled event loop", () => {
  it("after a 1 s stall, the catch-up frames are skipped, not burst out: RTP timestamps jump over them, sequence stays contiguous, and the live frames that follow go out one per tick", async () => {
    const stream = rtpStream({ seed: 9, durationMs: 4000, toneHz: 440 });
    const out = capture();
    const echo = await createEchoSession({ codec: OPUS, out: { ssrc: 0x77, send: out.send }, startMs: 0 });
    const arrivals = stream.arrivals;
    let i = 0;
    const runUntil = (now: number) => {
      while (i < arrivals.length && arrivals[i]!.arrivalMs <= now) {
        echo.pushRtp(arrivals[i]!.datagram, arrivals[i]!.arrivalMs);
        i++;
      }
    };
    for (let now = 0; now < 1500; now += 10) {
      runUntil(now);
      echo.tick(now);
    }
    const beforeStall = out.sent.length;
    // the loop stalls for 1 s: packets queue up meanwhile and arrive together
    runUntil(2500);
    echo.tick(2500);
    const burst = out.sent.length - beforeStall;
    for (let now = 2510; now < 4000; now += 10) {
      runUntil(now);
      echo.tick(now);
    }
    echo.close(4000);
    const st = echo.stats().sender as { staleSkipped: number };
    // ~50 frames came due during the stall; those more than 100 ms late were skipped
    expect(st.staleSkipped).toBeGreaterThanOrEqual(40);
    expect(st.staleSkipped).toBeLessThanOrEqual(50);
    expect(burst).toBeLessThanOrEqual(7); // only the frames still within 100 ms of due
    const s = out.sent;
    for (let k = 1; k < s.length; k++) expect(s[k]!.seq).toBe((s[k - 1]!.seq + 1) & 0xffff);
    // one RTP timestamp jump, as long as the skipped frames
    const jumps = s
      .slice(1)
      .map((p, k) => (p.ts - s[k]!.ts) >>> 0)
      .filter((d) => d !== 960);
    expect(jumps).toEqual([960 * (st.staleSkipped + 1)]);
    // the whole call's timeline is still there: sent + skipped = the call's frames (±1)
    expect(Math.abs((s.length + st.staleSkipped) * 20 - 4000)).toBeLessThanOrEqual(20);
  });
});
