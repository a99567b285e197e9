// The original Opus packets in an Ogg Opus file (RFC 7845), no transcoding.
//
// - Page 0: OpusHead alone, BOS (§5.1). Page 1: OpusTags (§5.2). Then audio pages.
// - Granule position of an audio page = 48 kHz samples of every packet completed so far, counted
//   from the first packet, *including* the pre-skip (§4): playback length = last granule − pre-skip.
// - A missing stretch of the timeline (a 20 ms slot, or the 10 ms a lost 10 ms packet leaves) is
//   written as 1-byte TOC-only packets of that length (lost frames the decoder conceals), so
//   granule positions stay true to the call's clock across loss and outages.
// - Pages are written whole with synchronous writes (about one per second): a crash leaves a
//   valid file one page short at most. The last page carries EOS.
import { randomInt } from "node:crypto";
import { closeSync, fsyncSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { opusPacketSamples } from "../../audio/codecs/opus-toc.js";
import { TypedEmitter } from "../events.js";
import { SinkClosedError } from "./errors.js";
import { type LimitEvent, limitCrossed, type RecordingLimits } from "./limits.js";
import { LOST_FRAME_SAMPLES, lostFramePacket } from "./ogg/opus-packet.js";
import { buildPage, lacingSegments, OGG_FLAG_BOS, OGG_FLAG_EOS } from "./ogg/page.js";

export interface OggOpusWriterOptions extends RecordingLimits {
  channels: 1 | 2;
  /** samples at 48 kHz the decoder drops at the start (§5.1: the encoder's lookahead; libopus: 312) */
  preSkip?: number;
  /** the original input rate, informational (§5.1) */
  inputRate?: number;
  /** packets per page (default 50 ≈ 1 s of 20 ms packets) */
  packetsPerPage?: number;
  vendor?: string;
  /** Ogg logical stream serial (random by default) */
  serial?: number;
}

export interface OggOpusWriterStats {
  path: string;
  packets: number;
  /** 1-byte lost-frame packets written for missing slots */
  lostPackets: number;
  /** granule position of the last packet written (48 kHz samples incl. pre-skip) */
  granule: number;
  /** playable duration: (granule − pre-skip) / 48 */
  durationMs: number;
  bytes: number;
  pages: number;
  /** packets refused after a limit stopped the recording */
  refusedPackets: number;
  state: "open" | "limited" | "closed";
  /** set when the file system refused a write (the file was closed on its last whole page) */
  writeError?: string;
}

export interface OggOpusWriterEvents {
  limit: LimitEvent;
  closed: { path: string; bytes: number; durationMs: number };
}

export function opusHead(channels: number, preSkip: number, inputRate: number): Uint8Array {
  const b = Buffer.alloc(19);
  b.write("OpusHead", 0, "ascii");
  b[8] = 1; // version
  b[9] = channels;
  b.writeUInt16LE(preSkip, 10);
  b.writeUInt32LE(inputRate, 12);
  b.writeInt16LE(0, 16); // output gain, Q7.8 dB
  b[18] = 0; // channel mapping family 0: mono or stereo, no mapping table
  return b;
}

export function opusTags(vendor: string, comments: string[] = []): Uint8Array {
  const parts: Buffer[] = [Buffer.from("OpusTags", "ascii")];
  const str = (s: string) => {
    const body = Buffer.from(s, "utf8");
    const len = Buffer.alloc(4);
    len.writeUInt32LE(body.length, 0);
    parts.push(len, body);
  };
  str(vendor);
  const count = Buffer.alloc(4);
  count.writeUInt32LE(comments.length, 0);
  parts.push(count);
  for (const c of comments) str(c);
  return Buffer.concat(parts);
}

export class OggOpusWriter {
  readonly events = new TypedEmitter<OggOpusWriterEvents>();
  readonly channels: 1 | 2;
  readonly preSkip: number;
  #fd: number | undefined;
  readonly #serial: number;
  #sequence = 0;
  #granule = 0;
  #pending: Uint8Array[] = [];
  /**
   * the pending packets' bytes, copied behind each other: one buffer per writer, reused page after
   * page (buildPage copies them into the page), so a packet costs no allocation of its own
   * (issue 18); `#pending` holds views on it. Replaced, not grown, when a page outgrows it.
   */
  #arena = new Uint8Array(16 * 1024);
  #arenaUsed = 0;
  #pendingBodyBytes = 0;
  #pendingSegments = 0;
  #pendingGranule = 0;
  #bytes = 0;
  #packets = 0;
  #lost = 0;
  #refused = 0;
  #lastToc: number | undefined;
  /** missing 48 kHz samples since the last packet, written when a packet follows (onPacket);
   *  what is below a 2.5 ms frame stays here for the next gap */
  #heldLost = 0;
  #state: OggOpusWriterStats["state"] = "open";
  readonly #packetsPerPage: number;
  readonly #limits: RecordingLimits;

  /** creates the file (O_EXCL) and writes the two header pages */
  constructor(
    readonly path: string,
    opts: OggOpusWriterOptions,
  ) {
    this.channels = opts.channels;
    this.preSkip = opts.preSkip ?? 312;
    this.#serial = opts.serial ?? randomInt(0, 0xffff_ffff);
    this.#packetsPerPage = Math.max(1, Math.min(opts.packetsPerPage ?? 50, 255));
    this.#limits = { maxBytes: opts.maxBytes, maxDurationMs: opts.maxDurationMs };
    this.#fd = openSync(path, "wx", 0o640);
    this.#writePage(OGG_FLAG_BOS, 0n, [opusHead(this.channels, this.preSkip, opts.inputRate ?? 48000)]);
    this.#tags = {
      at: this.#bytes,
      packet: opusTags(opts.vendor ?? "rtcgw", ["ENCODER=rtcgw (original packets, no transcoding)"]),
    };
    this.#writePage(0, 0n, [this.#tags.packet]);
  }

  /** the OpusTags page: where it is and what it holds (a stream with no audio ends on it) */
  readonly #tags: { at: number; packet: Uint8Array };

  get state(): OggOpusWriterStats["state"] {
    return this.#state;
  }

  get durationMs(): number {
    return Math.max(0, this.#granule - this.preSkip) / 48;
  }

  /**
   * One packet of the receive timeline, or null for `gapMs` of it that no packet covered (20: a
   * whole slot; lost-frame packets of that length are written in its place). Signature matches
   * the receiver's onPacket. Like the WAV (SpanGate), the file runs from the first packet to the
   * end of the last one: a gap is written only once a packet follows it; gaps before the first
   * packet and after the last one are not part of the call and are dropped.
   */
  onPacket(payload: Uint8Array | null, _pts?: number, gapMs = 20): void {
    if (payload === null || payload.length === 0) {
      if (this.#packets > 0) this.#heldLost += Math.round(gapMs * 48);
      return;
    }
    for (const n of LOST_FRAME_SAMPLES) for (; this.#heldLost >= n; this.#heldLost -= n) this.writeLost(n);
    this.writePacket(payload);
  }

  /** one lost frame of `samples` at 48 kHz (960, 480, 240 or 120) */
  writeLost(samples: (typeof LOST_FRAME_SAMPLES)[number] = 960): void {
    this.#append(lostFramePacket(this.#lastToc, this.channels, samples), true);
  }

  writePacket(payload: Uint8Array): void {
    this.#append(payload, false);
  }

  #append(packet: Uint8Array, lost: boolean): void {
    if (this.#state === "closed") throw new SinkClosedError(`Ogg ${this.path}`);
    if (this.#state === "limited") {
      this.#refused++;
      return;
    }
    const samples = opusPacketSamples(packet) ?? 0;
    if (samples === 0) {
      // malformed TOC: keep the slot's time with a lost frame rather than corrupt granules
      if (!lost) this.#append(lostFramePacket(this.#lastToc, this.channels), true);
      return;
    }
    const pageOverhead = 27 + 255 + packet.length; // worst case: this packet opens a new page
    const reason = limitCrossed(
      this.#limits,
      this.#bytes + this.#pendingBytes(),
      pageOverhead,
      this.durationMs,
      samples / 48,
    );
    if (reason) {
      this.#refused++;
      this.#finish();
      this.#state = "limited";
      this.events.emit("limit", { reason, path: this.path, bytes: this.#bytes, durationMs: this.durationMs });
      return;
    }
    const segs = lacingSegments(packet.length);
    if (this.#pending.length >= this.#packetsPerPage || this.#pendingSegments + segs > 255)
      this.#flushPage(0);
    // copy: the caller's buffer may be reused (node-datachannel hands out its own)
    this.#pending.push(this.#copyIn(packet));
    this.#pendingBodyBytes += packet.length;
    this.#pendingSegments += segs;
    this.#granule += samples;
    this.#pendingGranule = this.#granule;
    this.#packets++;
    if (lost) this.#lost++;
    else this.#lastToc = packet[0];
  }

  #pendingBytes(): number {
    return 27 + this.#pendingSegments + this.#pendingBodyBytes;
  }

  /** a copy of `packet` in the arena (a fresh arena when it is full: earlier views keep the old one) */
  #copyIn(packet: Uint8Array): Uint8Array {
    if (this.#arenaUsed + packet.length > this.#arena.length) {
      this.#arena = new Uint8Array(Math.max(this.#arena.length, packet.length * 2));
      this.#arenaUsed = 0;
    }
    const at = this.#arenaUsed;
    this.#arena.set(packet, at);
    this.#arenaUsed += packet.length;
    return this.#arena.subarray(at, at + packet.length);
  }

  #flushPage(flags: number): void {
    if (this.#pending.length === 0 && !(flags & OGG_FLAG_EOS)) return;
    const granule = this.#pending.length > 0 ? this.#pendingGranule : this.#granule;
    this.#writePage(flags, BigInt(granule), this.#pending);
    this.#pending = [];
    this.#pendingSegments = 0;
    this.#pendingBodyBytes = 0;
    this.#arenaUsed = 0; // the page holds its own copy now
  }

  #writePage(flags: number, granule: bigint, packets: Uint8Array[]): void {
    if (this.#fd === undefined) return;
    const page = buildPage({ flags, granule, serial: this.#serial, sequence: this.#sequence++, packets });
    let written = 0;
    let failure: string | undefined;
    try {
      written = writeSync(this.#fd, page, 0, page.length, this.#bytes);
    } catch (e) {
      failure = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    }
    if (failure === undefined && written === page.length) {
      this.#bytes += page.length;
      return;
    }
    // the disk refused the page (ENOSPC, EFBIG past RLIMIT_FSIZE): cut the half-written page off
    // (shrinking needs no space) so the file ends on a whole page, close it, and stop
    this.writeError = failure ?? "short write";
    try {
      ftruncateSync(this.#fd, this.#bytes);
    } catch {}
    try {
      closeSync(this.#fd);
    } catch {}
    this.#fd = undefined;
    this.#state = "limited";
    this.events.emit("limit", {
      reason: "disk_full",
      path: this.path,
      bytes: this.#bytes,
      durationMs: this.durationMs,
    });
  }

  /** set when the file system refused a write (the file was closed on its last whole page) */
  writeError: string | undefined;

  #finish(): void {
    this.#heldLost = 0; // missing slots after the last packet: not part of the call
    if (this.#fd === undefined) return;
    if (this.#pending.length > 0)
      this.#flushPage(OGG_FLAG_EOS); // the last page ends the stream
    else if (this.#packets === 0) this.#endOnTags();
    if (this.#fd === undefined) return; // the disk refused it: closed on the last whole page
    try {
      fsyncSync(this.#fd);
    } finally {
      closeSync(this.#fd);
      this.#fd = undefined;
    }
    this.events.emit("closed", { path: this.path, bytes: this.#bytes, durationMs: this.durationMs });
  }

  /**
   * No audio at all (a call that sent no RTP): the stream ends on its OpusTags page, rewritten in
   * place with EOS (same length: only the flag and the CRC change). An empty page after it would
   * complete no packet, and such a page must carry granule −1 and cannot carry EOS (RFC 3533 §6;
   * oggz-validate refused the granule-0 empty EOS page this writer used to end with). The file is
   * then the two header pages: a valid stream with no audio, which a player reports as empty.
   */
  #endOnTags(): void {
    const page = buildPage({
      flags: OGG_FLAG_EOS,
      granule: 0n,
      serial: this.#serial,
      sequence: 1,
      packets: [this.#tags.packet],
    });
    try {
      writeSync(this.#fd!, page, 0, page.length, this.#tags.at);
    } catch (e) {
      this.writeError = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    }
  }

  /** write the last page with EOS and close; idempotent */
  close(): void {
    if (this.#state === "closed") return;
    this.#finish();
    this.#state = "closed";
  }

  stats(): OggOpusWriterStats {
    return {
      path: this.path,
      packets: this.#packets,
      lostPackets: this.#lost,
      granule: this.#granule,
      durationMs: this.durationMs,
      bytes: this.#bytes,
      pages: this.#sequence,
      refusedPackets: this.#refused,
      state: this.#state,
      ...(this.writeError ? { writeError: this.writeError } : {}),
    };
  }
}
