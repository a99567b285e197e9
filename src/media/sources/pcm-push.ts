// Application audio in: PCM pushed at any supported rate (mono or stereo), resampled to the
// source's rate (48 kHz by default) into a bounded FIFO, and emitted one 20 ms frame per pacer
// tick. When the application has nothing queued the frame is silence (counted as an underrun),
// so the outgoing timeline never stops; a sender with DTX then sends nothing. When it pushes
// faster than real time the oldest audio is dropped (counted) rather than latency growing.

import { BadOptionsError, UnsupportedRateError } from "../../audio/resampler/errors.js";
import { createResampler } from "../../audio/resampler/index.js";
import type { Resampler, SampleRate } from "../../audio/resampler/types.js";
import type { Clock, TickSource } from "../clock.js";
import { Pacer } from "../send/pacer.js";
import { SourceTrack } from "../track.js";

const RATES = new Set([8000, 16000, 24000, 32000, 44100, 48000]);
/** what the FIFO holds before it first grows: a few frames of an agent's turn */
const INITIAL_FIFO_MS = 200;

export interface PcmPushSourceOptions {
  /** output rate (default 48000) */
  rate?: SampleRate;
  /** output channels (default 1) */
  channels?: 1 | 2;
  /** most audio held before the oldest is dropped (default 1000 ms) */
  maxBufferMs?: number;
  frameMs?: number;
  clock?: Clock;
  /** pace on this shared source (the node's 20 ms ticker; its period must be frameMs) instead of
   *  a timer of its own (src/media/send/pacer.ts) */
  ticks?: TickSource;
  /**
   * After a silence (the last tick found the queue empty), send the first whole frame as soon as
   * it is queued instead of at the next tick, and skip that tick: the frame count stays on the
   * pacer's grid (RTP timestamps keep following wall time), only the talk-spurt's first packet
   * leaves up to one period early. And mid-stream (the last frame carried audio), a tick that
   * finds less than a whole frame queued does not send it padded with silence: its slot is owed
   * and leaves, at its own place on the grid, the moment the rest is queued — or as it is at the
   * next tick. An application that streams in real time, whose frames arrive just after their
   * tick now and then (WebSocket jitter), is then heard without 20 ms holes. Default false.
   */
  earlyStart?: boolean;
  /** called after each frame has been handed to the consumers (an RTP sender has sent it) */
  onFrameOut?: () => void;
  /**
   * Queue what is pushed but send nothing until release(): a bridge's agent may speak the moment
   * its socket opens, before the caller's peer has connected — frames paced then would be sent
   * to a track that is not open yet and be lost, and the agent's marks answered as if played.
   */
  held?: boolean;
}

export interface PcmPushStats {
  pushedMs: number;
  /** audio dropped because the buffer was full */
  droppedMs: number;
  /** frames emitted as (partly) silence because nothing was queued */
  underruns: number;
  /** slots whose tick found less than a frame mid-stream and that left when the rest came (earlyStart) */
  slotsWaited: number;
  bufferedMs: number;
  frames: number;
  /** ms of queued audio that went out in frames (not dropped, not cleared) */
  playedMs: number;
  /** ms of queued audio dropped by clear() */
  clearedMs: number;
  /** ticks the pacer skipped after a stall (the event loop was late) while audio was queued, in
   *  ms: that audio left this much later than real time — the "not sent in time" of an overload */
  lateMs: number;
}

export class PcmPushSource extends SourceTrack {
  readonly frameSamples: number;
  readonly #pacer: Pacer;
  readonly #capacity: number; // interleaved samples
  #fifo: Int16Array;
  /** the queue is #fifo[#head, #head + #len): a frame taken moves #head, not the queue (see #take) */
  #head = 0;
  #len = 0;
  #resampler: Resampler | undefined;
  #inKey = "";
  #pts = 0;
  #pushed = 0;
  #dropped = 0;
  #underruns = 0;
  // Positions on the queue's own timeline, in samples per channel at the source's rate: what was
  // ever appended, and what ever left it (in a frame, dropped for room, or cleared). A position
  // p has left once taken ≥ p: what marks are answered by (PcmOut.mark).
  #appended = 0;
  #taken = 0;
  #played = 0;
  #cleared = 0;
  readonly #onFrameOut: (() => void) | undefined;
  readonly #early: boolean;
  /** the last tick found nothing queued: the next whole frame may leave at once */
  #idle = true;
  /** a frame left ahead of its tick: that tick sends nothing */
  #sentEarly = false;
  /** mid-stream, this tick's slot found less than a frame queued: it leaves when the rest comes */
  #owed = false;
  #slotsWaited = 0;
  /** the pacer's next tick index (a larger one means it skipped ticks after a stall) */
  #nextTick = 0;
  #lateTicks = 0;
  readonly #frameMs: number;
  /** clear()'s fade still at the head of the queue: samples per channel left, of how many */
  #fadeLeft = 0;
  #fadeLen = 0;
  #held: boolean;
  /** a consumer is subscribed (produce() ran): the pacer runs unless held */
  #producing = false;

  /** `await loadResampler()` once per process first (createIngest/Echo/Record sessions do) */
  constructor(o: PcmPushSourceOptions = {}) {
    super(o.rate ?? 48000, o.channels ?? 1);
    if (!RATES.has(this.rate)) throw new UnsupportedRateError(this.rate);
    const frameMs = o.frameMs ?? 20;
    this.frameSamples = Math.round((this.rate * frameMs) / 1000);
    this.#capacity = Math.round(((o.maxBufferMs ?? 1000) * this.rate) / 1000) * this.channels;
    // grown as audio is queued (#room), not allocated at its bound: a bridge may hold minutes of
    // an agent's audio (Twilio buffers 10), which a call that never queues more than a turn ahead
    // should not pay for — 200 calls × 20 s at 16 kHz were 128 MB allocated up front
    this.#fifo = new Int16Array(
      Math.min(this.#capacity, ((INITIAL_FIFO_MS * this.rate) / 1000) * this.channels) +
        this.frameSamples * this.channels,
    );
    this.#frameMs = frameMs;
    this.#pacer = new Pacer(
      (index) => {
        // ticks skipped after a stall, with audio waiting: it goes out that much late
        if (index > this.#nextTick && this.#len > 0) this.#lateTicks += index - this.#nextTick;
        this.#nextTick = index + 1;
        // this tick's frame already left early (see #maybeEarly): the grid is kept, nothing sent twice
        if (this.#sentEarly) {
          this.#sentEarly = false;
          return;
        }
        // the last slot's audio never came whole: it leaves as it is (an underrun), and this
        // slot's frame right after it, so the grid stays on wall time
        if (this.#owed) {
          this.#owed = false;
          this.#tick();
        } else if (this.#early && !this.#idle && this.#len < this.frameSamples * this.channels) {
          this.#owed = true; // mid-stream, the agent's next frame is due any moment: wait for it
          return;
        }
        this.#tick();
      },
      { clock: o.clock, periodMs: frameMs, ...(o.ticks ? { ticks: o.ticks } : {}) },
    );
    this.#early = o.earlyStart ?? false;
    this.#onFrameOut = o.onFrameOut;
    this.#held = o.held ?? false;
  }

  /** start sending what is queued (and pacing from now on), if it was `held` */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    if (this.#producing) this.#startPacer();
  }

  /** constructed `held` and not released yet */
  get held(): boolean {
    return this.#held;
  }

  /** the end of what has been queued so far (samples per channel since the start) */
  get queuedPosition(): number {
    return this.#appended;
  }

  /** how far the queue has been consumed: everything before this has left (or was dropped) */
  get takenPosition(): number {
    return this.#taken;
  }

  /** queue interleaved PCM at `rate` with `channels`; typed errors for unsupported formats */
  push(samples: Int16Array, rate: number, channels: 1 | 2): void {
    if (!RATES.has(rate)) throw new UnsupportedRateError(rate);
    if (channels !== 1 && channels !== 2)
      throw new BadOptionsError(`channels must be 1 or 2, got ${channels}`);
    this.#pushed += (samples.length / channels / rate) * 1000;
    let out: Int16Array;
    if (rate === this.rate && channels === this.channels) out = samples;
    else {
      const outCh = this.channels === 2 && channels === 2 ? 2 : 1;
      const key = `${rate}/${channels}`;
      if (key !== this.#inKey) {
        this.#resampler?.destroy();
        this.#resampler =
          rate === this.rate && channels === outCh
            ? undefined
            : createResampler({
                inRate: rate as SampleRate,
                outRate: this.rate as SampleRate,
                channels,
                downmix: channels === 2 && outCh === 1,
              });
        this.#inKey = key;
      }
      out = this.#resampler ? this.#resampler.processI16(samples) : samples;
      if (this.channels === 2 && outCh === 1) out = upmix(out);
    }
    this.#append(out);
  }

  /**
   * Move what the resampler still holds (its `latency` frames of the last input) into the queue,
   * and start it afresh: the audio pushed so far is then all queued (a mark's position is exact).
   * The next push starts a new resampler run; it is called at the end of an utterance (a mark).
   */
  flushResampler(): void {
    if (!this.#resampler) return;
    let tail = this.#resampler.flushI16();
    this.#resampler.reset();
    if (this.channels === 2 && !this.#inKey.endsWith("/2")) tail = upmix(tail);
    if (tail.length > 0) this.#append(tail);
  }

  #append(src: Int16Array): void {
    const ch = this.channels;
    this.#appended += src.length / ch;
    if (src.length > this.#capacity) {
      this.#dropped += ((src.length - this.#capacity) / ch / this.rate) * 1000;
      this.#taken += this.#len / ch + (src.length - this.#capacity) / ch;
      this.#len = 0;
      this.#head = 0;
      src = src.subarray(src.length - this.#capacity);
    }
    const overflow = this.#len + src.length - this.#capacity;
    if (overflow > 0) {
      this.#head += overflow; // the oldest audio goes
      this.#len -= overflow;
      this.#taken += overflow / ch;
      this.#dropped += (overflow / ch / this.rate) * 1000;
    }
    src = this.#crossfade(src);
    if (this.#head + this.#len + src.length > this.#fifo.length) this.#room(this.#len + src.length);
    this.#fifo.set(src, this.#head + this.#len);
    this.#len += src.length;
    this.#maybeEarly();
  }

  /**
   * The first audio queued after clear() while its fade is still waiting at the head of the
   * queue: mixed into the fade (the old audio fading out as the new fades in) instead of queued
   * after it, so the new audio starts at the clear, not 5 ms later, in the very frame that carries
   * the fade. The overlaid samples of the fade count as gone (marks stay exact). Returns what is
   * left to append.
   */
  #crossfade(src: Int16Array): Int16Array {
    if (this.#fadeLeft === 0) return src;
    const ch = this.channels;
    const m = Math.min(this.#fadeLeft, src.length / ch);
    const done = this.#fadeLen - this.#fadeLeft;
    const h = this.#head;
    for (let i = 0; i < m; i++) {
      const gIn = (done + i + 1) / (this.#fadeLen + 1); // the fade used (len − i)/(len + 1)
      // the gains sum to 1, but each side was rounded: two full-scale samples can reach 32768,
      // which an Int16Array would wrap to −32768 (a click) — clip instead
      for (let c = 0; c < ch; c++) {
        const v = this.#fifo[h + i * ch + c]! + Math.round(src[i * ch + c]! * gIn);
        this.#fifo[h + i * ch + c] = Math.max(-32768, Math.min(32767, v));
      }
    }
    this.#taken += m;
    this.#fadeLeft = 0;
    return src.subarray(m * ch);
  }

  #tick(): void {
    const n = this.frameSamples * this.channels;
    const samples = new Int16Array(n);
    const take = Math.min(n, this.#len);
    samples.set(this.#fifo.subarray(this.#head, this.#head + take));
    this.#take(take);
    this.#fadeLeft = Math.max(0, this.#fadeLeft - take / this.channels);
    if (take < n) this.#underruns++;
    this.#idle = take === 0;
    this.#taken += take / this.channels;
    this.#played += take / this.channels;
    this.emitFrame({ pts: this.#pts, rate: this.rate, channels: this.channels, samples });
    this.#pts += this.frameSamples;
    this.#onFrameOut?.();
  }

  /**
   * `n` samples leave the head of the queue. The queue is not moved down for every frame (a
   * memmove of all that is queued, per frame per session: an agent that streams 20 s of TTS ahead
   * made each of its frames move ~640 KB at 16 kHz, and after an overload the queue stays long);
   * it is moved once the free space before it is as large as the queue itself, so each move is
   * paid for by the frames taken since the last one (a frame's worth of copying per frame), and
   * the memory it ever touches stays within about twice the longest queue.
   */
  #take(n: number): void {
    this.#head += n;
    this.#len -= n;
    if (this.#len === 0) this.#head = 0;
    else if (this.#head >= this.#len) this.#compact();
  }

  /** room for `need` samples from the head: the queue moved down, and the FIFO grown (doubling,
   *  up to its bound) if that is not enough */
  #room(need: number): void {
    this.#compact();
    if (need <= this.#fifo.length) return;
    const bound = this.#capacity + this.frameSamples * this.channels;
    const grown = new Int16Array(Math.min(bound, Math.max(need, this.#fifo.length * 2)));
    grown.set(this.#fifo.subarray(0, this.#len));
    this.#fifo = grown;
  }

  #compact(): void {
    if (this.#head === 0) return;
    this.#fifo.copyWithin(0, this.#head, this.#head + this.#len);
    this.#head = 0;
  }

  #maybeEarly(): void {
    if (this.#owed) {
      if (this.#len < this.frameSamples * this.channels) return;
      this.#owed = false; // the owed slot, late by less than a period, at its own pts
      this.#slotsWaited++;
      this.#tick();
      return;
    }
    if (!this.#early || !this.#idle || this.#sentEarly || !this.#pacer.running) return;
    if (this.#len < this.frameSamples * this.channels) return; // a whole frame, or wait for the tick
    this.#sentEarly = true;
    this.#tick();
  }

  /**
   * Drop what is queued (e.g. barge-in). With `fadeMs`, the first fadeMs of the queue stay, faded
   * linearly to zero, so the audio ends without a click in the next frame; the rest is dropped.
   * Audio pushed while the fade still waits is cross-faded into it (#crossfade).
   * The timeline never stops either way: the pacer goes on emitting frames (silence until more is
   * pushed), so the RTP timestamps keep advancing with wall time.
   */
  clear(fadeMs = 0): void {
    const ch = this.channels;
    const keep = Math.min(this.#len, Math.round((fadeMs * this.rate) / 1000) * ch);
    const frames = keep / ch;
    const h = this.#head;
    for (let i = 0; i < frames; i++) {
      const g = (frames - i) / (frames + 1);
      for (let c = 0; c < ch; c++) this.#fifo[h + i * ch + c] = Math.round(this.#fifo[h + i * ch + c]! * g);
    }
    const dropped = (this.#len - keep) / ch;
    this.#cleared += dropped;
    this.#taken += dropped;
    this.#len = keep;
    if (keep === 0) this.#head = 0;
    this.#fadeLeft = frames;
    this.#fadeLen = frames;
    // the resampler's few samples of look-ahead are the cleared audio too
    this.#resampler?.reset();
    // what is pushed next (the agent's answer to the barge-in) may leave at once, ahead of its
    // tick, as after a silence: the tick is skipped, the grid kept
    this.#idle = true;
  }

  stats(): PcmPushStats {
    return {
      pushedMs: this.#pushed,
      droppedMs: this.#dropped,
      underruns: this.#underruns,
      slotsWaited: this.#slotsWaited,
      bufferedMs: (this.#len / this.channels / this.rate) * 1000,
      frames: this.framesEmitted,
      playedMs: (this.#played / this.rate) * 1000,
      clearedMs: (this.#cleared / this.rate) * 1000,
      lateMs: this.#lateTicks * this.#frameMs,
    };
  }

  protected produce(): void {
    this.#producing = true;
    if (!this.#held) this.#startPacer();
  }

  #startPacer(): void {
    this.#idle = true;
    this.#sentEarly = false;
    this.#owed = false;
    this.#nextTick = 0; // a started pacer counts its ticks from 0
    this.#pacer.start();
  }

  protected halt(): void {
    this.#producing = false;
    this.#pacer.stop();
  }

  override end(reason?: string): void {
    super.end(reason);
    this.#resampler?.destroy();
    this.#resampler = undefined;
  }
}

function upmix(mono: Int16Array): Int16Array {
  const out = new Int16Array(mono.length * 2);
  for (let i = 0; i < mono.length; i++) {
    out[2 * i] = mono[i]!;
    out[2 * i + 1] = mono[i]!;
  }
  return out;
}
