// Application audio to a peer: PCM pushed at any supported rate → PcmPushSource (48 kHz FIFO,
// one frame per 20 ms on its pacer) → AudioSender (encode, packetize, DTX on silence) → the PacketSink.
// What a PCM bridge or a TTS player uses for the "audio back" direction.
import type { CodecSpec } from "../../audio/codecs/types.js";
import { loadResampler } from "../../audio/resampler/index.js";
import type { SampleRate } from "../../audio/resampler/types.js";
import type { Clock, TickSource } from "../clock.js";
import { AudioSender, type AudioSenderStats, type PacketSink } from "../send/audio-sender.js";
import { PcmPushSource, type PcmPushStats } from "../sources/pcm-push.js";

export interface PcmOutOptions {
  codec: CodecSpec;
  /** the peer's outgoing track */
  out: PacketSink;
  /** the rate the queue holds and the encoder takes (default the codec's clock rate). Opus
   *  encodes 8/12/16/24/48 kHz as it is: a 16 kHz agent's audio then needs no resampler, and the
   *  encoder's 16 kHz analysis costs less than its 48 kHz one (docs/benchmarks.md) */
  rate?: number;
  /** Opus encoder complexity 0..10 (default the AudioSender's) */
  complexity?: number;
  /** skip silence when the application has nothing queued (default true) */
  dtx?: boolean;
  maxBufferMs?: number;
  clock?: Clock;
  /** pace on this shared 20 ms source instead of a timer of its own (src/media/send/pacer.ts) */
  ticks?: TickSource;
  /** queue, send nothing until start() (PcmPushSource `held`: the peer is not connected yet) */
  held?: boolean;
}

/** how a mark was answered: its audio left as RTP, or clear() dropped it (or the call ended) */
export type MarkOutcome = "played" | "cleared";

/** the fade clear() leaves at the head of the queue so the cut audio ends without a click */
export const CLEAR_FADE_MS = 5;

interface PendingMark {
  /** the queue position of the last sample queued before the mark */
  at: number;
  done: (outcome: MarkOutcome) => void;
}

/** a mark's callback must not break the pacer's tick (it runs inside it) */
function answer(m: PendingMark, outcome: MarkOutcome): void {
  try {
    m.done(outcome);
  } catch {}
}

/**
 * Marks answered in one 20 ms tick at most; the rest on the next ticks, in order. Marks come due
 * together on a clear (and when sent with no audio between them), and each answer is a write to
 * the agent's socket inside the node's shared tick: 1000 cost 7–23 ms there (docs/bridge.md), so a
 * Twilio agent's thousands would stall every call's tick. 250 a tick: ≤ ~6 ms, and 12 000 marks
 * answered within a second.
 */
export const MARK_ANSWERS_PER_TICK = 250;

export class PcmOut {
  readonly source: PcmPushSource;
  readonly sender: AudioSender;
  readonly #unsubscribe: () => void;
  /** in queue order (positions only grow), so the answered ones are always at the front */
  #marks: PendingMark[] = [];
  /** marks due but not yet answered (MARK_ANSWERS_PER_TICK), in order, with their outcome; an
   *  index, not shift(): a clear of thousands would make each shift O(n) */
  #owed: Array<{ m: PendingMark; outcome: MarkOutcome }> = [];
  #owedAt = 0;

  constructor(o: PcmOutOptions) {
    const rate = o.rate ?? o.codec.clockRate;
    this.source = new PcmPushSource({
      rate: rate as SampleRate,
      channels: 1,
      maxBufferMs: o.maxBufferMs,
      clock: o.clock,
      ...(o.ticks ? { ticks: o.ticks } : {}),
      // the frame has been encoded and sent when this runs: marks are answered to the frame
      onFrameOut: () => this.#answerPlayed(),
      // an application's first words after a silence leave at once, not at the next tick
      earlyStart: true,
      ...(o.held ? { held: true } : {}),
    });
    this.sender = new AudioSender({
      codec: o.codec,
      rate,
      ...(o.complexity !== undefined ? { complexity: o.complexity } : {}),
      out: o.out,
      channels: 1,
      dtx: o.dtx ?? true,
    });
    this.#unsubscribe = this.source.subscribe(this.sender); // starts the pacer
  }

  /** a `held` PcmOut starts sending what is queued, paced from now */
  start(): void {
    this.source.release();
  }

  /** queue interleaved PCM (8–48 kHz, mono or stereo) */
  push(samples: Int16Array, rate: number, channels: 1 | 2): void {
    this.source.push(samples, rate, channels);
  }

  /**
   * Call `done("played")` when the last sample queued before now has left as RTP — not when it
   * was queued — or `done("cleared")` if clear() (or close) drops it first. Nothing queued: played
   * at once (the last frame that held audio has already gone out).
   */
  mark(done: (outcome: MarkOutcome) => void): void {
    this.source.flushResampler(); // the tail of the audio before the mark is queued, not held
    const at = this.source.queuedPosition;
    if (at > this.source.takenPosition) this.#marks.push({ at, done });
    // played already: answered now, unless earlier marks still wait for their answer (order)
    else if (this.#owedAt < this.#owed.length) this.#owed.push({ m: { at, done }, outcome: "played" });
    else done("played");
  }

  /** marks waiting for their audio to leave, or for their answer */
  get pendingMarks(): number {
    return this.#marks.length + this.#owed.length - this.#owedAt;
  }

  /** drop queued audio (barge-in) after a CLEAR_FADE_MS fade; every pending mark is answered */
  clear(): void {
    this.source.clear(CLEAR_FADE_MS);
    this.#answerAll("cleared");
  }

  /** every tick (the source's frame out): the marks whose audio has left come due; answers owed go */
  #answerPlayed(): void {
    const taken = this.source.takenPosition;
    let n = 0;
    while (n < this.#marks.length && this.#marks[n]!.at <= taken) n++;
    if (n > 0) for (const m of this.#marks.splice(0, n)) this.#owed.push({ m, outcome: "played" });
    this.#payOwed();
  }

  #answerAll(outcome: MarkOutcome): void {
    for (const m of this.#marks) this.#owed.push({ m, outcome });
    this.#marks = [];
    this.#payOwed();
  }

  /** answer up to `limit` of the marks owed, in order */
  #payOwed(limit = MARK_ANSWERS_PER_TICK): void {
    const end = Math.min(this.#owed.length, this.#owedAt + limit);
    // the index moves before each answer: an answer's callback may queue a new mark
    while (this.#owedAt < end) {
      const o = this.#owed[this.#owedAt++]!;
      answer(o.m, o.outcome);
    }
    if (this.#owedAt === this.#owed.length) {
      this.#owed = [];
      this.#owedAt = 0;
    }
  }

  close(): void {
    this.#answerAll("cleared");
    // the call ends: what is still owed is answered now (the bridge's socket is gone or going,
    // and its answers are dropped there — no tick follows)
    this.#payOwed(Number.POSITIVE_INFINITY);
    this.#unsubscribe();
    this.source.end("closed");
    this.sender.close();
  }

  stats(): { source: PcmPushStats; sender: AudioSenderStats } {
    return { source: this.source.stats(), sender: this.sender.stats() };
  }
}

export async function createPcmOut(o: PcmOutOptions): Promise<PcmOut> {
  await loadResampler();
  return new PcmOut(o);
}
