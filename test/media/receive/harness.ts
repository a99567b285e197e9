// Run a synthetic stream through a real RtpAudioReceiver on a virtual clock and check the
// timeline invariants every scenario must keep.

import { expect } from "vitest";
import type { CodecSpec } from "../../../src/audio/codecs/types.js";
import type { AudioFrame } from "../../../src/media/frame.js";
import { RtpAudioReceiver, type RtpAudioReceiverOptions } from "../../../src/media/receive/receiver.js";
import {
  driveOnVirtualClock,
  rtpStream,
  type StreamOptions,
  type SyntheticStream,
} from "../../support/rtp-stream.js";

export interface Run {
  stream: SyntheticStream;
  receiver: RtpAudioReceiver;
  frames: AudioFrame[];
  packets: { payload: Uint8Array | null; pts: number }[];
  /** the virtual call length: from the track's start to the flush */
  callMs: number;
  /** ms of audio emitted (live consumers see all of it) */
  outputMs: number;
  /** ms of the call's media: first packet to the end of the last one (what a recorder keeps) */
  mediaMs: number;
  /** what the sender's frames that reached the receiver span: the call minus frames lost at
   *  either end (a recording must last this long) */
  sentMs: number;
  /** the most the output ever lagged behind the wall clock, at any tick (a stall would show) */
  maxLagMs: number;
}

export function specFor(stream: SyntheticStream, channels: 1 | 2 = 1): CodecSpec {
  return { codec: stream.codec, payloadType: stream.payloadType, clockRate: stream.clockRate, channels };
}

/**
 * The track opens when the first packet could arrive (send 0 + base delay) and the call ends
 * when the sender's last frame would have arrived; the receiver is flushed then.
 */
export function runScenario(
  options: StreamOptions,
  receiverOptions: Partial<RtpAudioReceiverOptions> = {},
  tickMs = 10,
): Run {
  const stream = rtpStream(options);
  const startMs = options.baseDelayMs ?? 30;
  // the sender's last frame ends at frames × 20 ms on *its* clock; a drifting clock stretches it
  const endMs = Math.round((stream.frames * 20) / (1 + (options.driftPpm ?? 0) / 1e6)) + startMs;
  const frames: AudioFrame[] = [];
  const packets: Run["packets"] = [];
  const receiver = new RtpAudioReceiver({
    codec: specFor(stream),
    startMs,
    onFrame: (f) => frames.push(f),
    onPacket: (payload, pts) => packets.push({ payload, pts }),
    ...receiverOptions,
  });
  let maxLagMs = 0;
  const watched = {
    push: (d: Uint8Array, at: number) => receiver.push(d, at),
    flush: (now: number) => receiver.flush(now),
    tick: (now: number) => {
      receiver.tick(now);
      maxLagMs = Math.max(maxLagMs, now - startMs - frames.length * 20);
    },
  };
  driveOnVirtualClock(stream, watched, endMs, tickMs, startMs);
  const outputMs = frames.reduce((ms, f) => ms + (f.samples.length / f.channels / f.rate) * 1000, 0);
  const c = receiver.counters;
  return {
    stream,
    receiver,
    frames,
    packets,
    callMs: endMs - startMs,
    outputMs,
    mediaMs: c.frames * 20,
    sentMs: endMs - startMs - stream.lostAtStartMs - stream.lostAtEndMs,
    maxLagMs,
  };
}

/**
 * contiguous pts from 0, fixed 20 ms frames, the call's media as long as the audio the sender's
 * delivered frames span (±endToleranceMs, default 20), and never a stall: at every tick the
 * output trails the clock by at most the largest jitter depth (200 ms) + one frame + one tick
 */
export function expectWallClockTrue(run: Run, tickMs = 10, endToleranceMs = 20): void {
  expect(run.maxLagMs).toBeLessThanOrEqual(200 + 20 + tickMs);
  const spf = run.stream.frameSamples;
  for (let k = 0; k < run.frames.length; k++) {
    const f = run.frames[k];
    if (f.pts !== k * spf || f.samples.length !== spf * f.channels || f.rate !== run.stream.clockRate) {
      expect.fail(`frame ${k}: pts ${f.pts} (want ${k * spf}), ${f.samples.length} samples at ${f.rate} Hz`);
    }
  }
  expect(Math.abs(run.mediaMs - run.sentMs)).toBeLessThanOrEqual(endToleranceMs);
  // what was emitted past the media is only the filler of the last gap, cut at the end
  expect(run.outputMs).toBe(run.mediaMs + run.receiver.counters.trailingMs + run.receiver.counters.leadingMs);
  // the Ogg feed: one call per slot not covered by a longer packet, in pts order
  for (let i = 1; i < run.packets.length; i++)
    expect(run.packets[i].pts).toBeGreaterThan(run.packets[i - 1].pts);
}

/** RMS of a range of frames (by index) */
export function rms(frames: AudioFrame[], from = 0, to = frames.length): number {
  let sum = 0;
  let n = 0;
  for (const f of frames.slice(from, to)) {
    for (const s of f.samples) {
      sum += s * s;
      n++;
    }
  }
  return n ? Math.sqrt(sum / n) : 0;
}
