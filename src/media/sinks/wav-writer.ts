// A WAV recorder (16-bit PCM, RIFF/WAVE, canonical 44-byte header) that stays a valid file if the
// process dies at any moment:
//  - the header is written first, claiming 0 data bytes, so the file is valid from its first byte;
//  - audio is appended in small batches (`flushMs`, default 200 ms) with synchronous writes: once
//    write() returns the bytes are in the kernel, and SIGKILL cannot lose them;
//  - every `headerEveryMs` of audio (default 1 s) and at close, the RIFF and data sizes are patched
//    in place to claim exactly the bytes written so far. A reader of a killed recording therefore
//    sees at most the last second short, never a header that claims bytes that are not there.
// Format: http://soundfile.sapp.org/doc/WaveFormat/ (Microsoft RIFF WAVE, PCM format tag 1).
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { TypedEmitter } from "../events.js";
import type { AudioFrame } from "../frame.js";
import type { FrameConsumer } from "../track.js";
import { FrameFormatError, SinkClosedError } from "./errors.js";
import { type LimitEvent, limitCrossed, type RecordingLimits } from "./limits.js";

export const WAV_HEADER_BYTES = 44;

export interface WavWriterOptions extends RecordingLimits {
  rate: number;
  channels: 1 | 2;
  /** audio buffered in memory before a write (default 200 ms) */
  flushMs?: number;
  /** audio between header patches (default 1000 ms) */
  headerEveryMs?: number;
}

export interface WavWriterEvents {
  limit: LimitEvent;
  closed: { path: string; bytes: number; durationMs: number };
}

export interface WavWriterStats {
  path: string;
  /** PCM bytes written (flushed or buffered) */
  dataBytes: number;
  durationMs: number;
  /** audio refused after a limit stopped the recording */
  refusedMs: number;
  headerPatches: number;
  state: "open" | "limited" | "closed";
  /** set when the file system refused a write (the file was closed valid at that point) */
  writeError?: string;
}

export function wavHeader(rate: number, channels: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(WAV_HEADER_BYTES);
  const blockAlign = channels * 2;
  h.write("RIFF", 0, "ascii");
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write("WAVE", 8, "ascii");
  h.write("fmt ", 12, "ascii");
  h.writeUInt32LE(16, 16); // fmt chunk size for PCM
  h.writeUInt16LE(1, 20); // format tag 1 = integer PCM
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * blockAlign, 28); // byte rate
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(16, 34); // bits per sample
  h.write("data", 36, "ascii");
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

// RIFF sizes are 32-bit: stay well clear of 4 GiB whatever the caller's limit says.
const RIFF_MAX_DATA = 0xffff_ff00 - WAV_HEADER_BYTES;

export class WavWriter implements FrameConsumer {
  readonly events = new TypedEmitter<WavWriterEvents>();
  readonly rate: number;
  readonly channels: 1 | 2;
  #fd: number | undefined;
  /**
   * audio not yet written, copied in as it comes: one buffer per recorder, written out and
   * reused every `flushMs` (issue 18: a Buffer per 20 ms frame and a concat per flush were GC and
   * malloc on the record path); grows only for a single write larger than it
   */
  #buf: Buffer;
  #pendingBytes = 0;
  #flushed = 0; // data bytes on disk
  #claimed = 0; // data bytes the header claims
  #state: WavWriterStats["state"] = "open";
  #refusedMs = 0;
  #headerPatches = 0;
  /** why the file system refused a write (ENOSPC, EFBIG…), once it has */
  writeError: string | undefined;
  readonly #bytesPerMs: number;
  readonly #flushBytes: number;
  readonly #headerEveryBytes: number;
  readonly #limits: RecordingLimits;

  /** creates the file (never overwrites one: O_EXCL) and writes a header claiming no data */
  constructor(
    readonly path: string,
    opts: WavWriterOptions,
  ) {
    if (!Number.isInteger(opts.rate) || opts.rate <= 0)
      throw new FrameFormatError(`bad WAV rate ${opts.rate}`);
    if (opts.channels !== 1 && opts.channels !== 2)
      throw new FrameFormatError(`bad WAV channel count ${opts.channels}`);
    this.rate = opts.rate;
    this.channels = opts.channels;
    this.#bytesPerMs = (this.rate * this.channels * 2) / 1000;
    this.#flushBytes = Math.max(1, Math.round((opts.flushMs ?? 200) * this.#bytesPerMs));
    this.#headerEveryBytes = Math.max(1, Math.round((opts.headerEveryMs ?? 1000) * this.#bytesPerMs));
    this.#limits = { maxBytes: opts.maxBytes, maxDurationMs: opts.maxDurationMs };
    // room for a flush period plus the frame that crosses it (20 ms frames: no growth)
    this.#buf = Buffer.allocUnsafe(this.#flushBytes + Math.ceil(20 * this.#bytesPerMs) + 64);
    this.#fd = openSync(path, "wx", 0o640);
    writeSync(this.#fd, wavHeader(this.rate, this.channels, 0), 0, WAV_HEADER_BYTES, 0);
  }

  get state(): WavWriterStats["state"] {
    return this.#state;
  }

  get dataBytes(): number {
    return this.#flushed + this.#pendingBytes;
  }

  get durationMs(): number {
    return this.dataBytes / this.#bytesPerMs;
  }

  onFrame(frame: AudioFrame): void {
    if (frame.rate !== this.rate || frame.channels !== this.channels)
      throw new FrameFormatError(
        `frame is ${frame.rate} Hz × ${frame.channels}, recorder wants ${this.rate} Hz × ${this.channels}`,
      );
    this.write(frame.samples);
  }

  onEnd(): void {
    this.close();
  }

  /** append interleaved PCM (little-endian hosts: the Int16Array's bytes are the WAV's bytes) */
  write(samples: Int16Array): void {
    if (this.#state === "closed") throw new SinkClosedError(`WAV ${this.path}`);
    const addMs = samples.length / this.channels / (this.rate / 1000);
    if (this.#state === "limited") {
      this.#refusedMs += addMs;
      return;
    }
    const bytes = samples.byteLength;
    const reason =
      limitCrossed(this.#limits, WAV_HEADER_BYTES + this.dataBytes, bytes, this.durationMs, addMs) ??
      (this.dataBytes + bytes > RIFF_MAX_DATA ? "max_bytes" : undefined);
    if (reason) {
      // write what still fits (whole sample frames), so the file ends exactly at its limit
      const blockAlign = this.channels * 2;
      const room = Math.min(
        this.#limits.maxBytes !== undefined
          ? this.#limits.maxBytes - WAV_HEADER_BYTES - this.dataBytes
          : bytes,
        this.#limits.maxDurationMs !== undefined
          ? Math.round((this.#limits.maxDurationMs - this.durationMs) * this.#bytesPerMs)
          : bytes,
        RIFF_MAX_DATA - this.dataBytes,
      );
      const fits = Math.max(0, Math.floor(room / blockAlign) * blockAlign);
      if (fits > 0) this.#append(new Uint8Array(samples.buffer, samples.byteOffset, fits));
      this.#refusedMs += addMs - fits / this.#bytesPerMs;
      this.#finalise();
      this.#state = "limited";
      this.events.emit("limit", {
        reason,
        path: this.path,
        bytes: WAV_HEADER_BYTES + this.#flushed,
        durationMs: this.durationMs,
      });
      return;
    }
    // copied: the caller may reuse its buffer (resampler output is a view valid until its next call)
    this.#append(new Uint8Array(samples.buffer, samples.byteOffset, bytes));
    if (this.#pendingBytes >= this.#flushBytes) this.flush();
  }

  /** copy bytes behind the pending audio (growing the buffer for an oversized write) */
  #append(bytes: Uint8Array): void {
    const need = this.#pendingBytes + bytes.length;
    if (need > this.#buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.#buf.length * 2));
      this.#buf.copy(grown, 0, 0, this.#pendingBytes);
      this.#buf = grown;
    }
    this.#buf.set(bytes, this.#pendingBytes);
    this.#pendingBytes = need;
  }

  /** write buffered audio now; patch the header if a header period has passed */
  flush(): void {
    if (this.#fd === undefined) return;
    if (this.#pendingBytes > 0) {
      const length = this.#pendingBytes;
      this.#pendingBytes = 0;
      let written = 0;
      let failure: string | undefined;
      try {
        written = writeSync(this.#fd, this.#buf, 0, length, WAV_HEADER_BYTES + this.#flushed);
      } catch (e) {
        failure = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      }
      // a short write is the file system's limit too (RLIMIT_FSIZE, a full disk): keep whole
      // sample frames only, so the header never claims half a frame
      const blockAlign = this.channels * 2;
      this.#flushed += Math.floor(written / blockAlign) * blockAlign;
      if (failure !== undefined || written < length) {
        this.#diskFull(failure ?? "short write", (length - written) / this.#bytesPerMs);
        return;
      }
    }
    if (this.#flushed - this.#claimed >= this.#headerEveryBytes) this.#patchHeader();
  }

  /** the disk refused audio: close the file valid (header claims what is on disk) and stop */
  #diskFull(error: string, lostMs: number): void {
    this.#refusedMs += lostMs;
    this.writeError = error;
    try {
      this.#patchHeader(); // in place: needs no new space
    } catch {}
    try {
      fsyncSync(this.#fd!);
    } catch {}
    try {
      closeSync(this.#fd!);
    } catch {}
    this.#fd = undefined;
    this.#state = "limited";
    this.events.emit("limit", {
      reason: "disk_full",
      path: this.path,
      bytes: WAV_HEADER_BYTES + this.#flushed,
      durationMs: this.#flushed / this.#bytesPerMs,
    });
    this.events.emit("closed", {
      path: this.path,
      bytes: WAV_HEADER_BYTES + this.#flushed,
      durationMs: this.#flushed / this.#bytesPerMs,
    });
  }

  #patchHeader(): void {
    if (this.#fd === undefined || this.#claimed === this.#flushed) return;
    const sizes = Buffer.alloc(4);
    sizes.writeUInt32LE(this.#flushed, 0);
    writeSync(this.#fd, sizes, 0, 4, 40);
    sizes.writeUInt32LE(36 + this.#flushed, 0);
    writeSync(this.#fd, sizes, 0, 4, 4);
    this.#claimed = this.#flushed;
    this.#headerPatches++;
  }

  #finalise(): void {
    if (this.#fd === undefined) return;
    this.flush();
    if (this.#fd === undefined) return; // the disk refused the last audio: already closed valid
    this.#patchHeader();
    try {
      fsyncSync(this.#fd);
    } finally {
      closeSync(this.#fd);
      this.#fd = undefined;
    }
    this.events.emit("closed", {
      path: this.path,
      bytes: WAV_HEADER_BYTES + this.#flushed,
      durationMs: this.durationMs,
    });
  }

  /** flush, patch the header to its final sizes, close; idempotent */
  close(): void {
    if (this.#state === "closed") return;
    this.#finalise();
    this.#state = "closed";
  }

  stats(): WavWriterStats {
    return {
      path: this.path,
      dataBytes: this.dataBytes,
      durationMs: this.durationMs,
      refusedMs: this.#refusedMs,
      headerPatches: this.#headerPatches,
      state: this.#state,
      ...(this.writeError ? { writeError: this.writeError } : {}),
    };
  }
}
