// RTP in → a contiguous, wall-clock-true timeline of fixed 20 ms AudioFrames out.
//
// The output timeline is slot-based: slot k covers wall time [origin + 20k, origin + 20k + 20)
// and its frame has pts = k × samplesPerFrame. Slot k is emitted once the clock passes its end
// plus the jitter-buffer depth; what fills it is decided then: the decoded packet whose RTP
// timestamp maps to it, Opus PLC / in-band FEC for a short loss, comfort silence during DTX, or
// silence for a long gap. So the output length always equals elapsed wall time (docs/design.md rule 4),
// whatever the network or the sender's timestamps do — while the call lasts.
//
// The end is decided differently: a gap is part of the call only when audio follows it. Frames
// that no packet contributed to are marked `filler`, and at flush() the timeline is completed to
// the end of the last packet received (buffered packets play, nothing lost at the end), and the
// filler emitted after the last packet — concealment of packets that never came, silence no
// audio followed — is taken back out of the counters (`trailingMs`); a recorder drops those
// frames (SpanGate). So a recording runs from the first packet to the end of the last one.
//
// RTP timestamps map to timeline positions through an anchor (slot, ts) set by the first
// packet: pos = slot × samplesPerFrame + (ts − anchor.ts). Positions, timestamps and durations
// are counted at the output rate: with Opus decoding at 16 kHz (`outputRate`), a 48 kHz RTP
// timestamp is divided by 3 as it arrives, so nothing below it needs to know about two clocks. A sender restart / timestamp jump /
// SSRC change moves the anchor (re-anchoring), never the output pts; packets already buffered
// keep their positions, so a switch loses nothing that arrived — nor does a straggler of the
// previous SSRC that arrives after the new one's first packet while its place is still ahead
// (straggler()).
//
// Push, not pull: aiortc's `track.recv()` only produces when a consumer awaits it, so a consumer
// that stops pulling stalls reception and gaps later come out as pts jumps. Here the clock
// (`tick(nowMs)`, from the node's timer or a test's virtual clock) drives output and frames are
// pushed to `onFrame`; a slow or absent consumer cannot stall reception.

import { CodecOptionsError } from "../../audio/codecs/errors.js";
import { createDecoder } from "../../audio/codecs/factory.js";
import { isOpusDtxPacket, opusPacketSamples } from "../../audio/codecs/opus-toc.js";
import type { AudioDecoder, CodecSpec } from "../../audio/codecs/types.js";
import type { AudioFrame } from "../frame.js";
import { isRtcp, parseRtp, type RtpPacket } from "../rtp/packet.js";
import { SsrcTracker } from "../rtp/ssrc.js";
import { SequenceUnwrapper, TimestampUnwrapper } from "../rtp/unwrap.js";
import { emptyCounters, type ReceiverCounters } from "./counters.js";
import { type BufferedPacket, JitterBuffer } from "./jitter-buffer.js";
import { JumpDetector } from "./jump-detector.js";
import { PlayoutDelay, type PlayoutDelayOptions } from "./playout-delay.js";

export const FRAME_MS = 20;
/** eager mode: packets this much earlier than the timeline's reference move it (timer/anchor slack) */
const EARLY_SLACK_MS = 2;
/** sequence numbers this far behind the newest are a restart, not reordering (RFC 3550 A.1) */
const MAX_MISORDER = 100;
/**
 * Each source numbers its packets in a space of its own: a new SSRC's unwrapped sequence numbers
 * start this far above every number seen before, so the jitter buffer's duplicate memory never
 * mistakes one source's packet for another's (and a straggler of the previous source is checked
 * against that source's own numbers). More than any unwrapped step (±2^15) either side.
 */
const SEQ_SPACE = 0x20000;

export interface RtpAudioReceiverOptions {
  /** the negotiated codec (see codecSpecFromRtpmap / firstSupportedCodec) */
  codec: CodecSpec;
  /**
   * the rate frames come out at (default: the codec's clock rate). Opus decodes natively at 8,
   * 12, 16, 24 or 48 kHz, so a 16 kHz pipeline asks for 16000 here instead of resampling.
   */
  outputRate?: number;
  /** every 20 ms frame, in pts order, without gaps */
  onFrame: (frame: AudioFrame) => void;
  /**
   * For the Ogg recorder, in timeline order: each played packet's original payload, with the
   * pts of the slot it starts in (once; two 10 ms packets give two calls), and null for each
   * stretch of a slot no packet covers (loss, DTX, silence), with its length in ms (`gapMs`: 20
   * for a whole slot, 10 for the half a lost 10 ms packet leaves beside a received one), so the
   * writer can insert TOC-only "lost frame" packets (RFC 6716 §3.2.1) and keep granule positions
   * true (RFC 7845 §4). A slot covered by the tail of a longer (40/60 ms) packet gets no call:
   * that packet's own duration already advances the granule.
   */
  onPacket?: (payload: Uint8Array | null, pts: number, gapMs: number) => void;
  /** wall time the track started; the timeline begins here (silence until the first packet).
   *  Default: the first packet's arrival. */
  startMs?: number;
  /** jitter-buffer depth: default 40 ms, bounds 20–200 ms */
  jitter?: PlayoutDelayOptions;
  /** longest gap concealed by PLC/FEC before switching to silence (default 120 ms) */
  maxConcealMs?: number;
  /** lateness beyond which a late packet no longer informs the jitter depth (default 1000 ms) */
  jumpThresholdMs?: number;
  /** earliness beyond which a packet is off the timeline (default 300 ms): bounds the latency
   *  a fast sender clock or a shortened network path can build up in the buffer */
  maxEarlyMs?: number;
  /** rebuild a lost frame from the next packet's in-band FEC when it is buffered (default true) */
  useFec?: boolean;
  /**
   * Emit a slot as soon as the packets covering it are here and follow the last played one in
   * sequence, instead of at its due time (default false). Only a gap (a missing or reordered
   * packet) waits, up to the adaptive depth as always, and is then concealed at its position.
   * The frames, their pts and the counters are the same either way; only *when* changes. For a
   * live consumer that wants audio as it arrives (the bridge's agent). The timeline's wall
   * reference follows the least-delayed packet (followEarliest), and a slot is never emitted more
   * than the depth ahead of it.
   */
  eager?: boolean;
}

interface Anchor {
  slot: number;
  ts: number;
}

/**
 * The source before the last SSRC change, kept while its stragglers may still come: packets it
 * sent before the new source's first one that the network delivered after it (10 ms packets
 * reordered across a resume or a restarted stream). They are placed by this source's own
 * mapping and played by its own decoder state (their epoch), never the new source's.
 */
interface PreviousSource {
  ssrc: number;
  epoch: number;
  anchor: Anchor;
  seqUnwrap: SequenceUnwrapper;
  tsUnwrap: TimestampUnwrapper;
  seqBase: number;
  /** a packet of it arriving later than this is not a straggler (see straggler()) */
  untilMs: number;
  /** samples its stragglers moved the new source forward by, in all (at most one slot) */
  pushed: number;
}

/** decoded samples not yet emitted (the tail of a packet longer than one slot) */
interface Pending {
  pos: number;
  pcm: Int16Array;
}

export class RtpAudioReceiver {
  readonly codec: CodecSpec;
  readonly rate: number;
  readonly channels: 1 | 2;
  /** samples per channel per output frame (960 for Opus, 160 for G.711) */
  readonly frameSamples: number;
  readonly counters: ReceiverCounters = emptyCounters();

  private readonly decoder: AudioDecoder;
  /**
   * where play() decodes a packet when the codec can decode into a buffer (Opus): one per
   * receiver, reused packet after packet — a packet's samples are copied into the slot's frame
   * before the next packet is played (`pending` is consumed first), so no packet needs an array
   * of its own (issue 18: per-packet backing stores were GC and malloc on the record path)
   */
  private readonly decodeBuf: Int16Array | undefined;
  /** RTP clock ticks per output sample (1, or 3 for Opus decoded at 16 kHz) */
  private readonly ticksPerSample: number;
  private readonly onFrame: (frame: AudioFrame) => void;
  private readonly onPacket?: (payload: Uint8Array | null, pts: number, gapMs: number) => void;
  /**
   * the Ogg feed of the slot being emitted, in order: a payload started in it, or null for
   * `feedGap[i]` samples no packet covered. Kept per receiver and overwritten slot after slot,
   * never truncated: one mixed array emptied with `length = 0` per slot (a new backing store each
   * time, generic elements) made the record path's frame ~25 % dearer (`bench:pipeline`)
   */
  private readonly feedPayload: (Uint8Array | null)[] = [];
  private readonly feedGap: number[] = [];
  private readonly buffer = new JitterBuffer();
  private readonly delay: PlayoutDelay;
  private readonly jumps = new JumpDetector<BufferedPacket>();
  private readonly ssrc = new SsrcTracker();
  private seqUnwrap = new SequenceUnwrapper();
  private tsUnwrap = new TimestampUnwrapper();
  /** added to the current source's unwrapped sequence numbers (SEQ_SPACE) */
  private seqBase = 0;
  /** the highest sequence number given to any packet so far (with its source's base) */
  private maxSeq = 0;
  private previous: PreviousSource | undefined;
  private readonly maxConcealSamples: number;
  private readonly jumpThresholdMs: number;
  private readonly maxEarlyMs: number;
  private readonly useFec: boolean;
  private readonly eager: boolean;

  private origin: number | undefined;
  private nextSlot = 0;
  private anchor: Anchor | undefined;
  private pending: Pending | undefined;
  private highestSeq: number | undefined;
  private lastPlayedSeq: number | undefined;
  private lastPlayedEpoch = 0;
  /** bumped on SSRC change and re-anchor: a new sender incarnation */
  private epoch = 0;
  private lastWasDtx = false;
  private decoderPrimed = false;
  private concealRun = 0;
  private closed = false;
  private lateMs = 0;
  /** slots emitted before the first slot with audio (silence from startMs to the first packet) */
  private leadFrames = 0;
  private heardAudio = false;
  /**
   * Set by an SSRC change: `refMs` is the lateness of the previous source's least-delayed recent
   * packet (≤ 0), the timeline's true wall reference (origin is the call's first arrival, and
   * that packet may have been held up); until `untilMs` (its first packet's arrival + the longest
   * depth + a slot) the new source's place follows its least-delayed packet
   * (followNewSourceEarliest, catchUpNewSource).
   */
  private newSource: { refMs: number; untilMs: number } | undefined;
  /** what the filler slots since the last slot with audio added to the counters */
  private tail = { frames: 0, concealedMs: 0, fecMs: 0, silenceMs: 0, dtxMs: 0 };

  constructor(options: RtpAudioReceiverOptions) {
    this.codec = options.codec;
    // RFC 7587 §4.1: the Opus RTP clock is 48 kHz whatever the encoder's rate
    if (options.codec.codec === "opus" && options.codec.clockRate !== 48000)
      throw new CodecOptionsError(`opus RTP runs at a 48000 Hz clock, not ${options.codec.clockRate}`);
    const outputRate = options.outputRate ?? options.codec.clockRate;
    const ticksPerSample = options.codec.clockRate / outputRate;
    if (!Number.isInteger(ticksPerSample))
      throw new CodecOptionsError(
        `output rate ${outputRate} Hz does not divide the ${options.codec.codec} clock rate ${options.codec.clockRate}`,
      );
    this.ticksPerSample = ticksPerSample;
    this.decoder = createDecoder(options.codec, { rate: outputRate });
    // createDecoder refuses a rate the codec cannot decode to; the decoder is the truth for the
    // layout (G.711 is mono whatever a caller asks)
    this.rate = this.decoder.rate;
    this.channels = this.decoder.channels;
    const maxFrame = this.decoder.maxFrameSamples;
    if (this.decoder.decodeInto && maxFrame !== undefined)
      this.decodeBuf = new Int16Array(maxFrame * this.channels);
    this.frameSamples = (this.rate * FRAME_MS) / 1000;
    this.onFrame = options.onFrame;
    this.onPacket = options.onPacket;
    this.delay = new PlayoutDelay(this.rate, options.jitter);
    this.maxConcealSamples = ((options.maxConcealMs ?? 120) * this.rate) / 1000;
    this.jumpThresholdMs = options.jumpThresholdMs ?? 1000;
    this.maxEarlyMs = options.maxEarlyMs ?? 300;
    this.useFec = options.useFec ?? true;
    this.eager = options.eager ?? false;
    this.origin = options.startMs;
  }

  /** the timeline begins at `ms` (silence until the first packet), as `startMs` would have
   *  said — unless a packet has already begun it */
  startAt(ms: number): void {
    this.origin ??= ms;
  }

  /** current jitter-buffer depth in ms */
  get depthMs(): number {
    return this.delay.ms;
  }

  /** RFC 3550 interarrival jitter estimate in ms */
  get jitterMs(): number {
    return this.delay.jitterMs;
  }

  /** pts (in samples) of the next frame to be emitted = samples emitted so far */
  get nextPts(): number {
    return this.nextSlot * this.frameSamples;
  }

  /** one datagram from the track (RTP or muxed RTCP), with its arrival time on the receiver's clock */
  push(datagram: Uint8Array, arrivalMs: number): void {
    if (this.closed) return;
    if (isRtcp(datagram)) {
      this.counters.rtcp++;
      return;
    }
    const parsed = parseRtp(datagram);
    if (!parsed.ok) {
      this.counters.invalid++;
      return;
    }
    const rtp = parsed.packet;
    if (rtp.payloadType !== this.codec.payloadType) {
      this.counters.otherPayloadType++;
      return;
    }
    const ticks = this.durationOf(rtp.payload);
    if (ticks === undefined) {
      this.counters.invalid++;
      return;
    }

    const source = this.ssrc.ssrc;
    const verdict = this.ssrc.observe(rtp.ssrc, arrivalMs);
    if (verdict === "stale") {
      this.straggler(rtp, ticks, arrivalMs);
      return;
    }
    if (verdict === "changed") this.followNewSsrc(source!, arrivalMs);

    this.origin ??= arrivalMs;
    const seq = this.seqBase + this.seqUnwrap.unwrap(rtp.sequenceNumber);
    if (seq > this.maxSeq) this.maxSeq = seq;
    const packet: BufferedPacket = {
      seq,
      ts: this.toSamples(this.tsUnwrap.unwrap(rtp.timestamp)),
      pos: 0,
      epoch: this.epoch,
      samples: this.toSamples(ticks),
      payload: rtp.payload,
      arrivalMs,
    };
    this.counters.packets++;
    if (this.buffer.has(packet.seq)) {
      this.counters.duplicate++;
      return;
    }
    // in order = newer than anything seen; far behind = the sender restarted its numbering
    const inOrder =
      this.highestSeq === undefined ||
      packet.seq > this.highestSeq ||
      packet.seq < this.highestSeq - MAX_MISORDER;
    if (inOrder) this.highestSeq = packet.seq;
    else this.counters.reordered++;

    if (this.anchor === undefined) this.anchorAt(packet);
    this.place(packet, inOrder);
    if (this.eager) this.emitReady(arrivalMs);
  }

  /**
   * How late the frame being emitted right now is: ms past its due time (slot end + jitter
   * depth), read synchronously by consumers while tick() runs; 0 otherwise. After an event-loop
   * stall, tick() catches up every slot since (the timeline stays whole), and a real-time
   * consumer such as a sender can tell the stale frames of the catch-up from fresh ones.
   */
  get emitLateMs(): number {
    return this.lateMs;
  }

  /** emit every frame whose slot (plus jitter depth) has ended by `nowMs` */
  tick(nowMs: number): void {
    if (this.closed || this.origin === undefined) return;
    try {
      for (;;) {
        const due = this.origin + (this.nextSlot + 1) * FRAME_MS + this.delay.ms;
        if (due > nowMs) break;
        this.lateMs = nowMs - due;
        this.emitSlot();
      }
    } finally {
      this.lateMs = 0;
    }
    // a gap just filled may have released packets waiting behind it
    if (this.eager) this.emitReady(nowMs);
  }

  /** eager: emit every slot already covered by packets in sequence with the last one played */
  private emitReady(nowMs: number): void {
    if (this.closed) return;
    while (this.readyAhead(nowMs)) this.emitSlot();
  }

  /**
   * True when slot `nextSlot` can be emitted now without waiting: it is at most the depth ahead
   * of its nominal wall time, and every sample of it comes from the last played packet's tail or
   * from buffered packets each following the previous one in sequence (same sender incarnation),
   * or starting where a gap already filled at its due time ended. A sequence gap still open, or
   * the first packet of an incarnation (an earlier one may be on its way),
   * waits for the slot's due time. A timestamp gap whose next packet follows in sequence is DTX
   * (nothing was lost), emitted as comfort silence as the due-time path would.
   */
  private readyAhead(nowMs: number): boolean {
    if (this.anchor === undefined || this.origin === undefined) return false;
    if (this.origin + this.nextSlot * FRAME_MS > nowMs + this.delay.ms) return false;
    const start = this.playhead;
    const end = start + this.frameSamples;
    let cursor = start;
    let seq = this.lastPlayedSeq;
    const epoch = this.lastPlayedEpoch;
    const p = this.pending;
    if (p !== undefined && p.pos <= cursor) cursor = Math.max(cursor, p.pos + p.pcm.length / this.channels);
    for (let i = 0; cursor < end; i++) {
      const next = this.buffer.at(i);
      if (next === undefined) return false;
      if (next.pos + next.samples <= start) continue; // too late: dropped when the slot is emitted
      if (seq === undefined || next.epoch !== epoch) return false;
      // in sequence, or the gap before it was already filled at its due time
      if (next.seq !== seq + 1 && !(next.seq > seq && next.pos <= start)) return false;
      cursor = Math.max(cursor, next.pos + next.samples);
      seq = next.seq;
    }
    return true;
  }

  /**
   * End of the call: play what is still buffered without waiting for the jitter depth, up to
   * the end of the last packet received and no further; then take the filler emitted after
   * that packet back out of the counters (it is not part of the call: `trailingMs`). The
   * timeline is then first packet → end of the last one. Further pushes are ignored.
   * (`_nowMs`: the end is decided by the media, not by when the session was torn down.)
   */
  flush(_nowMs?: number): void {
    if (this.closed) return;
    if (this.anchor !== undefined) {
      // a run off the timeline that the call's end left unproven (a restart in its last
      // 100 ms, a router's flush of its last packets) is late: it vanished from every counter.
      // Not placed where it arrived: under jitter a flush cannot be told from a restart this
      // short, and placed, a flush made the call longer than it was
      this.counters.late += this.jumps.reset();
      while (this.buffer.size > 0 || this.pendingBeyondPlayhead()) this.emitSlot();
    }
    const c = this.counters;
    const t = this.tail;
    c.frames -= t.frames;
    c.concealedMs -= t.concealedMs;
    c.fecMs -= t.fecMs;
    c.silenceMs -= t.silenceMs;
    c.dtxMs -= t.dtxMs;
    c.trailingMs += t.frames * FRAME_MS;
    // the silence before the first packet (startMs) is not the call's media either — and when
    // no packet ever came, none of the timeline is (it counted as media before: a call whose
    // every packet was lost said 460 ms of media, and recording_closed said so too)
    c.frames -= this.leadFrames;
    c.silenceMs -= this.leadFrames * FRAME_MS;
    c.leadingMs += this.leadFrames * FRAME_MS;
    this.tail = { frames: 0, concealedMs: 0, fecMs: 0, silenceMs: 0, dtxMs: 0 };
    this.close();
  }

  /** decoded samples of the last played packet that lie past the playhead */
  private pendingBeyondPlayhead(): boolean {
    const p = this.pending;
    return p !== undefined && p.pos + p.pcm.length / this.channels > this.playhead;
  }

  /** stop and free the decoder (idempotent) */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.buffer.clear();
    this.decoder.destroy();
  }

  // ── arrival side ────────────────────────────────────────────────────────────────────────

  /** RTP clock ticks → output samples (Opus durations are multiples of 2.5 ms: exact) */
  private toSamples(ticks: number): number {
    return this.ticksPerSample === 1 ? ticks : Math.round(ticks / this.ticksPerSample);
  }

  /** the payload's duration in RTP clock ticks */
  private durationOf(payload: Uint8Array): number | undefined {
    if (payload.length === 0) return undefined;
    return this.codec.codec === "opus" ? opusPacketSamples(payload) : payload.length;
  }

  /** timeline position (samples) of RTP timestamp `ts` under `anchor` */
  private positionOf(ts: number, anchor: Anchor): number {
    return anchor.slot * this.frameSamples + (ts - anchor.ts);
  }

  /** arrival minus the nominal arrival of timeline position `pos`, in ms */
  private offsetMs(pos: number, arrivalMs: number): number {
    return arrivalMs - (this.origin! + (pos * 1000) / this.rate);
  }

  /** timeline position of the first sample not yet emitted */
  private get playhead(): number {
    return this.nextSlot * this.frameSamples;
  }

  private anchorAt(p: BufferedPacket): void {
    const sinceOrigin = (p.arrivalMs - this.origin!) / FRAME_MS;
    if (this.newSource === undefined) {
      this.anchor = { slot: Math.max(this.nextSlot, Math.floor(sinceOrigin)), ts: p.ts };
      return;
    }
    // A new source (a resume's new peer): its first packet goes where the previous source's
    // packets would have arrived at that moment — at the previous source's own lateness
    // (`refMs`), not at origin's: the call's first packet may have been held up (a busy loop at
    // the call's start: 93 ms seen), and every later packet then runs that much "early" against
    // origin. Measured from origin alone, the gap lost that delay (the WAV came out short). To
    // the nearest slot (floor lost 10 ms on average) — the nearest 10 ms for 10 ms packets (a
    // source whose first packet is sent mid-slot: the nearest slot was a coin toss between 10 ms
    // of filler and 10 ms overlapped) —, after what is already played or buffered, to the sample
    // (the previous source's last 10 ms packet may end mid-slot).
    const F = this.frameSamples;
    const grid = Math.min(F, p.samples);
    const estimate = (sinceOrigin - this.newSource.refMs / FRAME_MS) * F;
    const pos = Math.max(Math.round(estimate / grid) * grid, this.firstFreePos());
    const slot = Math.floor(pos / F);
    this.anchor = { slot, ts: p.ts - (pos - slot * F) };
  }

  /** the first timeline position not yet emitted nor covered by a buffered packet */
  private firstFreePos(): number {
    let end = this.playhead;
    for (let i = 0; i < this.buffer.size; i++) {
      const q = this.buffer.at(i)!;
      if (q.epoch !== this.epoch) end = Math.max(end, q.pos + q.samples);
    }
    return end;
  }

  /**
   * A new source's first packet may itself have been held up (anchorAt placed it by its
   * arrival): until the source's first packet plays, a packet of it that arrives more than half
   * a slot earlier than the reference lateness moves the source back to it, by whole slots — so
   * its least-delayed packet sets its place, as for the call's start (extendBack) and re-anchors.
   * Never onto what is already played or buffered from before.
   */
  private followNewSourceEarliest(p: BufferedPacket, offsetMs: number): number {
    const src = this.newSource!;
    let slots = Math.round((src.refMs - offsetMs) / FRAME_MS);
    if (slots < 1) return offsetMs;
    const first = Math.min(p.pos, this.buffer.firstPosition(this.epoch));
    const room = Math.floor((first - this.firstFreePos()) / this.frameSamples);
    slots = Math.min(slots, room);
    if (slots < 1) return offsetMs;
    const delta = slots * this.frameSamples;
    this.anchor!.slot -= slots;
    this.buffer.shiftPositions(-delta, this.epoch);
    p.pos -= delta;
    // (only this source's packets are in the window since the SSRC change: rebase())
    this.delay.shift(slots * FRAME_MS);
    return offsetMs + slots * FRAME_MS;
  }

  /**
   * A new source whose first packets were held up (a router's hold, a busy event loop as a
   * resumed peer connects) was placed by their arrival, and followNewSourceEarliest cannot move
   * it back onto what is emitted: once a packet of it arrives on time, the rest of the call ran
   * that much late — the recording as long as the hold, a due-time consumer (echo) that much
   * behind for good. A packet of it that arrives whole slots earlier than the reference lateness,
   * within the source's first moments, moves it back, as a hold on a source that goes on costs
   * the held packets: this source's packets that then start before what is emitted (or still
   * held of the previous source) are late. Not in eager mode: there the held packets have
   * already gone out, and the wall reference follows the least-delayed packet (followEarliest).
   */
  private catchUpNewSource(p: BufferedPacket, offsetMs: number): number {
    // stragglers of the previous source may have moved it on, on purpose (makeRoomForStraggler)
    const pushedMs = ((this.previous?.pushed ?? 0) * 1000) / this.rate;
    // whole slots only: a source placed after the previous one's last packet may start up to a
    // slot later than its arrival says (their audio overlapped as sent), and that is no hold
    const slots = Math.floor((this.newSource!.refMs - offsetMs - pushedMs) / FRAME_MS);
    if (slots < 1) return offsetMs;
    // the earliest place it may go back to: what is emitted or the previous source still has
    // buffered (firstFreePos), and the tail of the last played packet
    let floor = this.firstFreePos();
    if (this.pendingBeyondPlayhead())
      floor = Math.max(floor, this.pending!.pos + this.pending!.pcm.length / this.channels);
    const move = Math.min(slots, Math.floor((p.pos - floor) / this.frameSamples));
    if (move < 1) return offsetMs;
    const delta = move * this.frameSamples;
    this.anchor!.slot -= move;
    this.buffer.shiftPositions(-delta, this.epoch);
    p.pos -= delta;
    this.counters.late += this.buffer.dropStartingBefore(floor, this.epoch);
    this.delay.shift(move * FRAME_MS);
    return offsetMs + move * FRAME_MS;
  }

  private place(p: BufferedPacket, inOrder: boolean): void {
    p.pos = this.positionOf(p.ts, this.anchor!);
    if (!this.heardAudio) {
      // its place is already taken in part (a sender stepping its timestamp back at the start):
      // it will not play, so it must not move the start either (alignStart, extendBack)
      if (this.buffer.overlaps(p)) {
        this.counters.late++;
        return;
      }
      this.alignStart(p);
    }
    if (p.pos < 0 && this.nextSlot === 0) this.extendBack(p);
    let offset = this.offsetMs(p.pos, p.arrivalMs);
    if (this.newSource !== undefined && p.epoch === this.epoch) {
      if (this.lastPlayedEpoch !== this.epoch) offset = this.followNewSourceEarliest(p, offset);
      if (!this.eager && p.arrivalMs <= this.newSource.untilMs) offset = this.catchUpNewSource(p, offset);
    }
    // a packet that starts before the playhead is late even if it ends after it: the recording's
    // WAV would get only its tail, the Ogg (whole packets) all of it, and the two part ways
    const late = p.pos < this.playhead;
    // lateness within reason is jitter: let the depth grow to cover it next time
    if (late && offset <= this.jumpThresholdMs) this.delay.observe(p.arrivalMs, p.ts, offset);
    if (late && !inOrder) {
      // a reordered straggler: newer packets already came, so this is the network, not a jump
      this.counters.late++;
      return;
    }
    if (late || offset < -this.maxEarlyMs) {
      // off the timeline: late although newest, or far too early — maybe a jump
      const { jump, dropped } = this.jumps.add(
        { packet: p, arrivalMs: p.arrivalMs, offsetMs: offset },
        this.delay.ms,
      );
      this.counters.late += dropped;
      if (jump) this.reanchor(jump.map((r) => r.packet));
      return;
    }
    this.counters.late += this.jumps.reset();
    const result = this.buffer.insert(p);
    if (result === "duplicate") {
      this.counters.duplicate++;
      return;
    }
    if (result === "occupied") {
      this.counters.late++; // its place is taken: it will not play
      return;
    }
    if (result === "overflow") {
      this.counters.overflow++;
      return;
    }
    this.delay.observe(p.arrivalMs, p.ts, offset);
    if (this.eager) this.followEarliest();
  }

  /**
   * Eager mode: the timeline's wall reference (origin) was set by the first packet's arrival; if
   * that packet was delayed, every later one arrives "early" against it, and both the limit on
   * emitting ahead and the wait for a gap would carry that delay for the whole call. So the
   * reference follows the least-delayed recent packet: the origin moves back until it is on time
   * (as a re-anchor puts the least-delayed packet of its run on time). Positions and pts do not
   * change; only when slots are due. A fast sender clock is followed the same way (no re-anchor
   * needed). The due-time mode keeps its reference (its output keeps a steady cadence).
   */
  private followEarliest(): void {
    const early = -this.delay.earliestMs;
    if (early <= EARLY_SLACK_MS) return;
    this.origin! -= early;
    this.delay.shift(early);
  }

  /**
   * The recording starts with the first packet sent: until a packet has played, the earliest
   * packet here starts a slot. The first to arrive is put at a slot's start (anchorAt), but a
   * packet sent before it by less than a slot (its 10 ms slot-mate, reordered) would start
   * mid-slot, and the call's first and last slots would each carry half a slot of filler (two
   * 10 ms packets swapped at the start made the WAV 20 ms long). So every position moves
   * forward and the origin back by the same amount: their wall times do not change.
   */
  private alignStart(p: BufferedPacket): void {
    const F = this.frameSamples;
    const r = ((p.pos % F) + F) % F;
    if (r === 0 || p.epoch !== this.epoch) return;
    if (p.pos < this.playhead && this.nextSlot > 0) return; // late: it will not play
    // stamped before the start by more than extendBack takes: off the timeline (a restart, a
    // jump), it will not play either — and moved the whole call by its remainder of a slot
    if (p.pos < 0 && Math.ceil(-p.pos / F) * FRAME_MS > this.maxEarlyMs) return;
    for (let i = 0; i < this.buffer.size; i++) if (this.buffer.at(i)!.pos < p.pos) return;
    const d = F - r;
    this.anchor!.ts -= d;
    this.buffer.shiftPositions(d);
    p.pos += d;
    this.origin! -= (d * 1000) / this.rate;
  }

  /**
   * Nothing lost at the start: the first packet to arrive is not always the first one sent (a
   * reordered or jittered start). Until the first slot is emitted, a packet stamped before the
   * anchor moves the timeline's start back to it: the origin moves back by whole slots and the
   * anchor and every buffered packet forward by as many, so the due time of what was already
   * placed does not change. Bounded by maxEarlyMs (a packet stamped further back is a restart
   * or garbage, not the call's first audio).
   */
  private extendBack(p: BufferedPacket): void {
    const slots = Math.ceil(-p.pos / this.frameSamples);
    if (slots * FRAME_MS > this.maxEarlyMs) return;
    const delta = slots * this.frameSamples;
    this.origin! -= slots * FRAME_MS;
    this.anchor!.slot += slots;
    this.buffer.shiftPositions(delta);
    p.pos += delta;
  }

  /** the sender's timestamps jumped: put the run's packets on a fresh anchor */
  private reanchor(run: BufferedPacket[]): void {
    this.newSource = undefined;
    this.previous = undefined; // the timeline moved: the previous source's mapping is no guide now
    this.counters.reanchors++;
    this.epoch++; // a restarted sender has a fresh encoder: reset the decoder when we get there
    this.delay.rebase();
    // anchor so the least-delayed packet of the run is exactly on time (offset 0)
    const first = run[0];
    let slot = Number.POSITIVE_INFINITY;
    for (const p of run) {
      const s = (p.arrivalMs - this.origin!) / FRAME_MS - (p.ts - first.ts) / this.frameSamples;
      if (s < slot) slot = s;
    }
    this.anchor = { slot: Math.round(slot), ts: first.ts };
    for (const p of run) {
      p.epoch = this.epoch;
      p.pos = this.positionOf(p.ts, this.anchor);
      if (p.pos < this.playhead) {
        this.counters.late++;
        continue;
      }
      // the run may hold a packet twice (a duplicate arrived while it waited for its proof)
      const result = this.buffer.insert(p);
      if (result === "inserted") this.delay.observe(p.arrivalMs, p.ts, this.offsetMs(p.pos, p.arrivalMs));
      else if (result === "duplicate") this.counters.duplicate++;
      else if (result === "occupied") this.counters.late++;
      else this.counters.overflow++;
    }
  }

  /**
   * A packet of a source we left (SsrcTracker: "stale"). A straggler of the previous source —
   * sent before the new source's first packet, delivered after it — goes where that source's own
   * mapping puts it, if that is still ahead of what is emitted. Its epoch is the previous
   * source's, so it plays with that source's decoder state, after that source's other packets
   * and before the new source's first (which resets the decoder). The window:
   *  - only the source right before the current one, only while no re-anchor moved the timeline
   *    since, and only until the jitter buffer's longest depth + one slot after the new source's
   *    first packet (`untilMs`: by then a straggler's place has been emitted whatever it is).
   *    Anything else of a source we left is counted (`staleSsrc`) and ignored, until it is
   *    plainly the one sending and SsrcTracker follows it back as a change;
   *  - its place already emitted (it starts before the playhead): late, dropped, like any late
   *    packet;
   *  - its place before the new source's start: placed;
   *  - across the new source's start, while the new source has not begun to play: placed, and the
   *    new source (anchor and buffered packets) moves forward to right after it, to the sample —
   *    where it would have gone had the straggler come first (anchorAt puts a new source after
   *    what is buffered). The new source's place is an estimate to the nearest slot (10 ms for
   *    10 ms packets), so stragglers may move it by one slot in all and only from its start: an
   *    old peer still sending after the new one began would otherwise push the new source on and
   *    on, its audio recorded twice;
   *  - otherwise it and the new source overlap (the new source already plays there, or it starts
   *    inside the new source's audio, or past that one slot): the new source's audio is kept, the
   *    straggler counted (`staleSsrc`) and ignored.
   * A straggler does not inform the jitter depth: its lateness is the old path's, and the window
   * since the change holds only the new source's packets (followNewSourceEarliest).
   */
  private straggler(rtp: RtpPacket, ticks: number, arrivalMs: number): void {
    const prev = this.previous;
    if (
      prev === undefined ||
      rtp.ssrc !== prev.ssrc ||
      arrivalMs > prev.untilMs ||
      this.anchor === undefined ||
      this.epoch !== prev.epoch + 1
    ) {
      this.counters.staleSsrc++;
      return;
    }
    const p: BufferedPacket = {
      seq: prev.seqBase + prev.seqUnwrap.unwrap(rtp.sequenceNumber),
      ts: this.toSamples(prev.tsUnwrap.unwrap(rtp.timestamp)),
      pos: 0,
      epoch: prev.epoch,
      samples: this.toSamples(ticks),
      payload: rtp.payload,
      arrivalMs,
    };
    p.pos = this.positionOf(p.ts, prev.anchor);
    if (this.buffer.has(p.seq)) {
      this.counters.packets++;
      this.counters.duplicate++;
      return;
    }
    if (p.pos >= this.playhead && !this.makeRoomForStraggler(p, prev)) {
      this.counters.staleSsrc++; // it and the new source overlap: the new source's audio is kept
      return;
    }
    this.counters.packets++;
    this.counters.reordered++; // a newer packet (the new source's first) came before it
    if (p.pos < this.playhead) {
      this.counters.late++; // its place is emitted
      return;
    }
    const result = this.buffer.insert(p);
    if (result === "duplicate") this.counters.duplicate++;
    else if (result === "occupied") this.counters.late++;
    else if (result === "overflow") this.counters.overflow++;
    if (this.eager) this.emitReady(arrivalMs);
  }

  /**
   * A straggler whose place is ahead of the playhead: false when the new source holds that place;
   * true when it is free — made so, if the straggler runs across the new source's start, by
   * moving the new source forward (straggler()).
   */
  private makeRoomForStraggler(p: BufferedPacket, prev: PreviousSource): boolean {
    if (this.lastPlayedEpoch === this.epoch) return false; // the new source plays here already
    // where the new source starts (it has not begun to play)
    const start = this.buffer.firstPosition(this.epoch);
    const overlap = p.pos + p.samples - start;
    if (overlap <= 0) return true;
    if (p.pos > start || prev.pushed + overlap > this.frameSamples) return false;
    prev.pushed += overlap;
    this.anchor!.ts -= overlap;
    this.buffer.shiftPositions(overlap, this.epoch);
    // the new source's lateness figures (the window since the change) move with it
    this.delay.shift((-overlap * 1000) / this.rate);
    return true;
  }

  private followNewSsrc(previousSsrc: number, arrivalMs: number): void {
    // the previous source's least lateness, before rebase() forgets it (anchorAt)
    this.newSource = { refMs: this.delay.earliestMs, untilMs: arrivalMs + this.delay.maxMs + FRAME_MS };
    this.counters.ssrcChanges++;
    // the source we leave, for its stragglers (its packets still buffered stay queued)
    this.previous =
      this.anchor === undefined
        ? undefined
        : {
            ssrc: previousSsrc,
            epoch: this.epoch,
            anchor: this.anchor,
            seqUnwrap: this.seqUnwrap,
            tsUnwrap: this.tsUnwrap,
            seqBase: this.seqBase,
            untilMs: arrivalMs + this.delay.maxMs + FRAME_MS,
            pushed: 0,
          };
    this.epoch++;
    // the new source numbers from scratch, in a space of its own (SEQ_SPACE)
    this.seqBase = this.maxSeq + SEQ_SPACE;
    this.counters.late += this.jumps.reset();
    this.seqUnwrap = new SequenceUnwrapper();
    this.tsUnwrap = new TimestampUnwrapper();
    this.anchor = undefined; // the new source's first packet anchors at its arrival
    this.highestSeq = undefined;
    this.delay.rebase();
  }

  // ── playout side ────────────────────────────────────────────────────────────────────────

  private emitSlot(): void {
    const slot = this.nextSlot;
    const pts = slot * this.frameSamples;
    const out = new Int16Array(this.frameSamples * this.channels);
    const feedPayload = this.feedPayload;
    const feedGap = this.feedGap;
    let nFeed = 0;
    /** some of this slot's samples came from a received packet */
    let audio = false;
    /** where in the slot the last received audio ends (samples per channel) */
    let audioEnd = 0;
    // the filler counters before this slot (plain numbers: no object per frame)
    const c = this.counters;
    const concealedBefore = c.concealedMs;
    const fecBefore = c.fecMs;
    const silenceBefore = c.silenceMs;
    const dtxBefore = c.dtxMs;

    if (this.anchor === undefined) {
      // before the first packet (only with startMs): silence at its true position
      this.counters.silenceMs += FRAME_MS;
      feedPayload[nFeed] = null;
      feedGap[nFeed++] = this.frameSamples;
    } else {
      const slotStart = this.playhead;
      let pos = slotStart;
      let filled = 0;
      this.counters.late += this.buffer.dropEndingBy(slotStart);
      while (filled < this.frameSamples) {
        const want = this.frameSamples - filled;
        if (this.pending) {
          const taken = this.takePending(pos, out, filled, want);
          if (taken > 0) {
            audio = true;
            pos += taken;
            filled += taken;
            audioEnd = filled;
            continue;
          }
        }
        const head = this.buffer.peek();
        if (head && head.pos <= pos) {
          this.buffer.shift();
          feedPayload[nFeed] = head.payload;
          feedGap[nFeed++] = 0;
          this.play(head);
          continue;
        }
        const gapEnd = head ? Math.min(head.pos, pos + want) : pos + want;
        const n = gapEnd - pos;
        this.fillGap(out, filled, pos, n, head);
        if (nFeed > 0 && feedPayload[nFeed - 1] === null) feedGap[nFeed - 1] = feedGap[nFeed - 1]! + n;
        else {
          feedPayload[nFeed] = null;
          feedGap[nFeed++] = n;
        }
        pos += n;
        filled += n;
      }
    }

    this.nextSlot++;
    this.counters.frames++;
    this.delay.onFrame();
    const t = this.tail;
    if (audio) {
      this.heardAudio = true;
      t.frames = t.concealedMs = t.fecMs = t.silenceMs = t.dtxMs = 0;
    } else if (!this.heardAudio) {
      this.leadFrames++;
    } else {
      t.frames++;
      t.concealedMs += c.concealedMs - concealedBefore;
      t.fecMs += c.fecMs - fecBefore;
      t.silenceMs += c.silenceMs - silenceBefore;
      t.dtxMs += c.dtxMs - dtxBefore;
    }
    if (this.onPacket) {
      for (let i = 0; i < nFeed; i++) {
        const payload = feedPayload[i]!;
        if (payload === null) this.onPacket(null, pts, (feedGap[i]! * 1000) / this.rate);
        else this.onPacket(payload, pts, 0);
        feedPayload[i] = null; // the payload is the consumer's now: not kept alive here
      }
    }
    const frame: AudioFrame = { pts, rate: this.rate, channels: this.channels, samples: out };
    if (!audio) frame.filler = true;
    else if (audioEnd < this.frameSamples) frame.fillerTail = this.frameSamples - audioEnd;
    if (this.lateMs > 0) frame.lateMs = this.lateMs; // a catch-up frame says so itself
    this.onFrame(frame);
  }

  /** copy decoded samples covering timeline position `pos` into `out`; returns samples taken */
  private takePending(pos: number, out: Int16Array, at: number, want: number): number {
    const p = this.pending!;
    const total = p.pcm.length / this.channels;
    const skip = pos - p.pos;
    if (skip < 0) return 0;
    const available = total - skip;
    if (available <= 0) {
      this.pending = undefined;
      return 0;
    }
    const n = Math.min(available, want);
    out.set(p.pcm.subarray(skip * this.channels, (skip + n) * this.channels), at * this.channels);
    if (n === available) this.pending = undefined;
    return n;
  }

  private play(p: BufferedPacket): void {
    if (p.epoch !== this.lastPlayedEpoch) {
      // first packet of a new sender incarnation (SSRC change, restart): fresh decoder state
      this.decoder.reset();
      this.lastPlayedEpoch = p.epoch;
      this.lastPlayedSeq = undefined;
    }
    if (this.lastPlayedSeq !== undefined && p.seq > this.lastPlayedSeq + 1) {
      this.counters.lost += p.seq - this.lastPlayedSeq - 1;
    }
    if (this.lastPlayedSeq === undefined || p.seq > this.lastPlayedSeq) this.lastPlayedSeq = p.seq;
    this.lastWasDtx = this.codec.codec === "opus" && isOpusDtxPacket(p.payload);
    let pcm: Int16Array;
    try {
      const buf = this.decodeBuf;
      // a view on the receiver's buffer: takePending() copies it out before the next play()
      pcm = buf
        ? buf.subarray(0, this.decoder.decodeInto!(p.payload, buf) * this.channels)
        : this.decoder.decode(p.payload);
    } catch {
      this.counters.decodeErrors++;
      pcm = this.decoder.conceal(p.samples);
    }
    this.decoderPrimed = true;
    this.concealRun = 0;
    this.pending = { pos: p.pos, pcm };
  }

  /** fill `n` samples at `at` for a slot part no packet covers */
  private fillGap(
    out: Int16Array,
    at: number,
    pos: number,
    n: number,
    next: BufferedPacket | undefined,
  ): void {
    const ms = (n * 1000) / this.rate;
    // DTX: the sender went quiet on purpose (RFC 7587 §3.1.3): its last packet was a DTX frame,
    // or the next packet follows the last one without a sequence gap
    const sameSource = next !== undefined && next.epoch === this.lastPlayedEpoch;
    const dtx =
      this.lastWasDtx ||
      (sameSource && this.lastPlayedSeq !== undefined && next.seq === this.lastPlayedSeq + 1);
    if (dtx) {
      this.counters.dtxMs += ms;
      return; // comfort silence: `out` is already zero
    }
    if (!this.decoderPrimed || this.concealRun + n > this.maxConcealSamples) {
      this.counters.silenceMs += ms;
      this.concealRun += n;
      return;
    }
    this.concealRun += n;
    let pcm: Int16Array | undefined;
    // in-band FEC rebuilds only the frame right before the next packet (RFC 6716 §2.1.7)
    if (this.useFec && next && sameSource && pos + n === next.pos && this.decoder.decodeFec) {
      pcm = this.decoder.decodeFec(next.payload, n);
      if (pcm) this.counters.fecMs += ms;
    }
    pcm ??= this.decoder.conceal(n);
    out.set(pcm.subarray(0, n * this.channels), at * this.channels);
    this.counters.concealedMs += ms;
  }
}
