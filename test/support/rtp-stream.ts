// A synthetic RTP audio stream on a virtual clock, for deterministic media tests.
//
// The payloads are real: Opus packets encoded once (per process) from a 440 Hz tone by the
// same WASM libopus the gateway uses, a DTX silence sequence from a DTX-enabled encoder, or
// G.711 bytes. The network is simulated with a seeded PRNG: random loss, bursts, outages,
// jitter, reordering and duplicates; the sender can jump its timestamp, wrap its counters,
// change SSRC and go quiet with DTX. Every datagram comes with its send and arrival times.

import { encodeAlaw, encodeUlaw } from "../../src/audio/codecs/g711.js";
import { OpusEncoder } from "../../src/audio/codecs/opus.js";
import { buildRtp } from "../../src/media/rtp/packet.js";

export type StreamCodec = "opus" | "pcmu" | "pcma";

export interface TimeRange {
  fromMs: number;
  toMs: number;
}

export interface StreamOptions {
  /** PRNG seed: same seed, same stream */
  seed?: number;
  /** how long the sender sends (frames = durationMs / 20) */
  durationMs: number;
  codec?: StreamCodec;
  /** default 111 for Opus, 0 PCMU, 8 PCMA */
  payloadType?: number;
  /** tone frequency for the payloads (default 440 Hz); Opus tones are cached per frequency */
  toneHz?: number;
  /** peak amplitude of the tone (default 8000) */
  amplitude?: number;
  ssrc?: number;
  startSeq?: number;
  startTs?: number;
  /** one-way delay every packet gets (default 30 ms) */
  baseDelayMs?: number;
  /** extra uniform random delay 0..jitterMs per packet (default 0) */
  jitterMs?: number;
  /** probability a packet is lost (default 0) */
  loss?: number;
  /** burst losses: every packet sent inside a range is lost */
  bursts?: TimeRange[];
  /** network outages: same as bursts, named for long ones */
  outages?: TimeRange[];
  /** probability a packet is held back by reorderDelayMs (default 0) */
  reorder?: number;
  /** how much a reordered packet is delayed (default 45 ms: behind the next two) */
  reorderDelayMs?: number;
  /** probability a packet is delivered twice (default 0) */
  duplicate?: number;
  /** router buffering: packets sent inside the range all arrive together at its end */
  holds?: TimeRange[];
  /** the sender's timestamp jumps by `delta` ticks (mod 2^32) at `atMs` (a restart, a bug) */
  tsJumps?: { atMs: number; delta: number }[];
  /** the sender stops sending and resumes later *without* advancing its timestamp */
  pauses?: TimeRange[];
  /** the sender restarts with a new SSRC, random sequence and timestamp at each time */
  ssrcChanges?: number[];
  /** silent periods sent with Opus DTX (WebRTC rule: only the first ≤2-byte frame is sent) */
  dtx?: TimeRange[];
  /** add an RTCP packet (receiver report) every this many ms (default: none) */
  rtcpEveryMs?: number;
  /** the sender's clock runs fast (> 0) or slow (< 0) by this many parts per million */
  driftPpm?: number;
}

export interface StreamDatagram {
  /** position in send order */
  index: number;
  /** the frame number on the sender's media clock (index into its 20 ms frames) */
  frame: number;
  /** the sender's 20 ms slot (paused slots count too, unlike `frame`) */
  slot: number;
  sendMs: number;
  arrivalMs: number;
  datagram: Uint8Array;
  kind: "rtp" | "rtcp";
  seq: number;
  ts: number;
  ssrc: number;
  payload: Uint8Array;
  duplicate: boolean;
}

export interface SyntheticStream {
  datagrams: StreamDatagram[];
  /** datagrams in arrival order (what a receiver sees) */
  arrivals: StreamDatagram[];
  codec: StreamCodec;
  payloadType: number;
  clockRate: number;
  frameSamples: number;
  /** frames the sender produced (sent or not) */
  frames: number;
  /** packets lost on purpose (loss, bursts, outages) */
  dropped: number;
  lastArrivalMs: number;
  /**
   * ms of the sender's audio lost before its first delivered frame and after its last one: a
   * recording runs from the first packet that arrived to the end of the last one, so these
   * are not there to record (a loss in the middle is filled at its true position).
   */
  lostAtStartMs: number;
  lostAtEndMs: number;
}

function lostAtEdges(datagrams: StreamDatagram[], frames: number) {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const d of datagrams) {
    if (d.kind !== "rtp") continue;
    first = Math.min(first, d.slot);
    last = Math.max(last, d.slot);
  }
  if (last < first) return { lostAtStartMs: frames * 20, lostAtEndMs: 0 };
  return { lostAtStartMs: first * 20, lostAtEndMs: (frames - 1 - last) * 20 };
}

/** mulberry32: a tiny, good-enough seeded PRNG */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** one 20 ms frame of a continuous tone (frame index → phase continuity) */
export function toneFrame(
  frame: number,
  rate: number,
  hz: number,
  amplitude: number,
  channels = 1,
): Int16Array {
  const n = (rate * 20) / 1000;
  const out = new Int16Array(n * channels);
  for (let i = 0; i < n; i++) {
    const v = Math.round(amplitude * Math.sin((2 * Math.PI * hz * (frame * n + i)) / rate));
    for (let c = 0; c < channels; c++) out[i * channels + c] = v;
  }
  return out;
}

const TONE_CYCLE = 100; // 2 s of packets; 440 Hz × 2 s = 880 whole periods, so the loop is seamless
const toneCache = new Map<string, Uint8Array[]>();
let dtxCache: Uint8Array[] | undefined;

/** Opus packets of a looping tone, encoded once per (hz, amplitude) with FEC on */
export function opusTonePackets(hz = 440, amplitude = 8000): Uint8Array[] {
  const key = `${hz}/${amplitude}`;
  let cached = toneCache.get(key);
  if (!cached) {
    const enc = new OpusEncoder({
      channels: 1,
      bitrate: 32000,
      complexity: 5,
      inbandFec: true,
      packetLossPercent: 10,
    });
    cached = [];
    for (let f = 0; f < TONE_CYCLE; f++) cached.push(enc.encode(toneFrame(f, 48000, hz, amplitude)));
    enc.destroy();
    toneCache.set(key, cached);
  }
  return cached;
}

/** what a DTX encoder emits for silence after speech: a few real frames, then 1-byte frames
 *  with a refresh frame every 400 ms (libopus DTX) — 3 s worth */
export function opusDtxSilencePackets(): Uint8Array[] {
  if (!dtxCache) {
    const enc = new OpusEncoder({ channels: 1, bitrate: 32000, dtx: true, inbandFec: true });
    for (let f = 0; f < 10; f++) enc.encode(toneFrame(f, 48000, 440, 8000));
    dtxCache = [];
    for (let f = 0; f < 150; f++) dtxCache.push(enc.encode(new Int16Array(960)));
    enc.destroy();
  }
  return dtxCache;
}

function inRanges(t: number, ranges: TimeRange[] | undefined): TimeRange | undefined {
  return ranges?.find((r) => t >= r.fromMs && t < r.toMs);
}

function buildRtcpReceiverReport(ssrc: number): Uint8Array {
  // RFC 3550 §6.4.2 RR with no report blocks: V=2, RC=0, PT=201, length=1
  const b = new Uint8Array(8);
  b[0] = 0x80;
  b[1] = 201;
  b[3] = 1;
  new DataView(b.buffer).setUint32(4, ssrc >>> 0);
  return b;
}

/** generate the stream: deterministic for a given options object */
export function rtpStream(o: StreamOptions): SyntheticStream {
  const rand = prng(o.seed ?? 1);
  const codec = o.codec ?? "opus";
  const clockRate = codec === "opus" ? 48000 : 8000;
  const frameSamples = (clockRate * 20) / 1000;
  const payloadType = o.payloadType ?? (codec === "opus" ? 111 : codec === "pcmu" ? 0 : 8);
  const hz = o.toneHz ?? 440;
  const amplitude = o.amplitude ?? 8000;
  const frames = Math.round(o.durationMs / 20);
  const tone = codec === "opus" ? opusTonePackets(hz, amplitude) : undefined;
  const dtxSilence = codec === "opus" && o.dtx?.length ? opusDtxSilencePackets() : undefined;

  let ssrc = o.ssrc ?? 0x1234abcd;
  let seq = o.startSeq ?? Math.floor(rand() * 0x10000);
  let tsBase = o.startTs ?? Math.floor(rand() * 0x100000000);
  let tsOffset = 0; // added by jumps and restarts, mod 2^32
  let pausedFrames = 0; // frames the media clock did not advance while paused
  let dtxFrame = 0;
  let prevSentLen = 99;
  const jumps = [...(o.tsJumps ?? [])].sort((a, b) => a.atMs - b.atMs);
  const changes = [...(o.ssrcChanges ?? [])].sort((a, b) => a - b);
  const datagrams: StreamDatagram[] = [];
  let dropped = 0;
  let nextRtcp = o.rtcpEveryMs ?? Number.POSITIVE_INFINITY;

  for (let f = 0; f < frames; f++) {
    const sendMs = (f * 20) / (1 + (o.driftPpm ?? 0) / 1e6);
    while (jumps.length > 0 && jumps[0].atMs <= sendMs) tsOffset += jumps.shift()!.delta;
    while (changes.length > 0 && changes[0] <= sendMs) {
      changes.shift();
      ssrc = (ssrc * 2654435761 + 12345) >>> 0;
      seq = Math.floor(rand() * 0x10000);
      tsBase = Math.floor(rand() * 0x100000000) - (f - pausedFrames) * frameSamples;
    }
    if (inRanges(sendMs, o.pauses)) {
      pausedFrames++;
      continue;
    }
    const mediaFrame = f - pausedFrames;
    const ts = (((tsBase + mediaFrame * frameSamples + tsOffset) % 0x100000000) + 0x100000000) % 0x100000000;

    let payload: Uint8Array;
    const silent = inRanges(sendMs, o.dtx);
    if (dtxSilence && silent) {
      // past the cached 3 s, loop over its last 400 ms (the DTX refresh period)
      const n = dtxSilence.length;
      payload = dtxSilence[dtxFrame < n ? dtxFrame : n - 20 + ((dtxFrame - n) % 20)];
      dtxFrame++;
      // WebRTC sends the first ≤2-byte DTX frame after a real one and suppresses the rest
      const suppress = payload.length <= 2 && prevSentLen <= 2;
      prevSentLen = payload.length;
      if (suppress) continue; // not sent: the sequence number does not advance
    } else {
      dtxFrame = 0;
      if (tone) payload = tone[mediaFrame % tone.length];
      else {
        const pcm = silent ? new Int16Array(frameSamples) : toneFrame(mediaFrame, clockRate, hz, amplitude);
        payload = codec === "pcmu" ? encodeUlaw(pcm) : encodeAlaw(pcm);
      }
      prevSentLen = payload.length;
    }

    const thisSeq = seq;
    seq = (seq + 1) & 0xffff;
    const datagram = buildRtp({
      payloadType,
      sequenceNumber: thisSeq,
      timestamp: ts,
      ssrc,
      payload,
      marker: f === 0,
    });

    const lost = rand() < (o.loss ?? 0) || inRanges(sendMs, o.bursts) || inRanges(sendMs, o.outages);
    const jitter = rand() * (o.jitterMs ?? 0);
    const reordered = rand() < (o.reorder ?? 0);
    const dup = rand() < (o.duplicate ?? 0);
    if (lost) {
      dropped++;
      continue;
    }
    const hold = inRanges(sendMs, o.holds);
    let arrivalMs = (hold ? hold.toMs + f * 0.01 : sendMs) + (o.baseDelayMs ?? 30) + jitter;
    if (reordered) arrivalMs += o.reorderDelayMs ?? 45;
    const base = {
      frame: mediaFrame,
      slot: f,
      sendMs,
      kind: "rtp" as const,
      seq: thisSeq,
      ts,
      ssrc,
      payload,
      datagram,
    };
    datagrams.push({ ...base, index: datagrams.length, arrivalMs, duplicate: false });
    if (dup)
      datagrams.push({
        ...base,
        index: datagrams.length,
        arrivalMs: arrivalMs + 1 + rand() * 30,
        duplicate: true,
      });

    if (sendMs >= nextRtcp) {
      nextRtcp += o.rtcpEveryMs!;
      const rr = buildRtcpReceiverReport(ssrc);
      datagrams.push({
        ...base,
        index: datagrams.length,
        kind: "rtcp",
        datagram: rr,
        payload: rr,
        arrivalMs: arrivalMs + 0.5,
        duplicate: false,
      });
    }
  }
  // stable sort by arrival: equal arrivals keep send order
  const arrivals = [...datagrams].sort((a, b) => a.arrivalMs - b.arrivalMs || a.index - b.index);
  return {
    datagrams,
    arrivals,
    codec,
    payloadType,
    clockRate,
    frameSamples,
    frames,
    dropped,
    lastArrivalMs: arrivals.length ? arrivals[arrivals.length - 1].arrivalMs : 0,
    ...lostAtEdges(datagrams, frames),
  };
}

/** anything driven by packets and a clock (the receiver, or a pipeline built around it) */
export interface ClockDriven {
  push(datagram: Uint8Array, arrivalMs: number): void;
  tick(nowMs: number): void;
  flush(nowMs: number): void;
}

/**
 * Play a stream into `target` on a virtual clock: ticks every `tickMs` (default 10 ms, like a
 * timer), datagrams pushed at their arrival times, then flush at `endMs`.
 */
export function driveOnVirtualClock(
  stream: SyntheticStream,
  target: ClockDriven,
  endMs: number,
  tickMs = 10,
  startMs = 0,
): void {
  let i = 0;
  const arrivals = stream.arrivals;
  // the call lasts until endMs, and until everything the network delivers has arrived: a packet
  // sent before the end but delayed past it is still part of the call's media
  const lastArrival = arrivals.length > 0 ? arrivals[arrivals.length - 1]!.arrivalMs : endMs;
  const until = Math.max(endMs, lastArrival + tickMs);
  let now = startMs;
  for (; now < until; now += tickMs) {
    while (i < arrivals.length && arrivals[i].arrivalMs <= now) {
      target.push(arrivals[i].datagram, arrivals[i].arrivalMs);
      i++;
    }
    target.tick(now);
  }
  target.flush(Math.max(endMs, now));
}
