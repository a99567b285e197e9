// The `bridge` profile, media side (no sockets here: src/node/bridge/app-socket.ts is the WebSocket):
// the caller's audio decoded straight to 16 kHz mono and handed out one 20 ms frame at a time
// (what a voice-agent backend wants), and the application's PCM back to the caller through
// PcmOut (its own 20 ms pacer → encode → RTP). clear() drops the queued application audio
// (barge-in: the caller spoke over the agent).
import { isOpusDecodeRate } from "../../audio/codecs/opus.js";
import type { CodecSpec } from "../../audio/codecs/types.js";
import { loadResampler } from "../../audio/resampler/index.js";
import type { Logger } from "../../log/index.js";
import { Chunker } from "../chunker.js";
import type { Clock, TickSource } from "../clock.js";
import type { AudioFrame } from "../frame.js";
import type { PlayoutDelayOptions } from "../receive/playout-delay.js";
import { ResampleStage } from "../resample-stage.js";
import type { PacketSink } from "../send/audio-sender.js";
import { recordingPath } from "../sinks/paths.js";
import { TwoChannelWav } from "../sinks/two-channel-wav.js";
import type { FrameConsumer } from "../track.js";
import { ECHO_OPUS_COMPLEXITY } from "./echo.js";
import { InboundAudio } from "./inbound.js";
import { type MarkOutcome, PcmOut } from "./pcm-out.js";
import type { RecordingResult } from "./record.js";
import { type PipelineStats, receiverStats } from "./stats.js";

/** the bridge's PCM format, both ways: s16 mono, 20 ms frames, at the agent's rate (default 16 kHz) */
export const BRIDGE_RATE = 16000;
export const BRIDGE_RATES = [8000, 16000, 24000, 48000] as const;
export type BridgeRate = (typeof BRIDGE_RATES)[number];
export const BRIDGE_FRAME_MS = 20;
export const BRIDGE_FRAME_SAMPLES = (BRIDGE_RATE * BRIDGE_FRAME_MS) / 1000; // 320 at the default rate

/**
 * How much application audio may wait to be played. An agent streams TTS faster than real time,
 * so this is well above PcmPushSource's 1 s default; beyond it the oldest audio is dropped
 * (counted), never held without bound (20 s at 48 kHz mono is under 2 MB per session).
 */
export const BRIDGE_OUT_BUFFER_MS = 20_000;

/** what the application's end of a bridge may do to the call */
export interface AppAudioPeer {
  /** the agent's PCM rate, both ways */
  readonly rate: BridgeRate;
  /** the application's audio for the caller: s16 mono at `rate`, any length */
  pushPcm(samples: Int16Array): boolean;
  /** answer `done` once the audio queued so far has left as RTP (or was cleared) */
  mark(done: (outcome: MarkOutcome) => void): void;
  /** drop the application audio not yet played (barge-in); pending marks are answered */
  clear(): void;
  /** ms of the application's audio that has left as RTP so far */
  readonly playedMs: number;
  /** marks waiting for their audio to leave (answered ones, and cleared ones, are not) */
  readonly pendingMarks: number;
}

/**
 * The application's end of a bridge, as the pipeline sees it (the node's WebSocket implements
 * it; no socket here): the caller's frames go out through it, and the bridge connects itself to
 * it to receive the application's audio.
 */
export interface AppLink {
  /** the PCM rate the application speaks (the bridge session runs at it) */
  readonly rate: BridgeRate;
  /** how much of its audio may wait to be played (default BRIDGE_OUT_BUFFER_MS) */
  readonly bufferMs?: number;
  /** one 20 ms frame of the caller's audio (rate/50 samples s16 mono; pts in samples at `rate`) */
  sendFrame(samples: Int16Array, pts: number): void;
  connect(peer: AppAudioPeer): void;
}

export interface BridgeSessionOptions {
  /** the negotiated codec (both directions use it) */
  codec: CodecSpec;
  /** the agent's PCM rate, both ways (default BRIDGE_RATE) */
  rate?: BridgeRate;
  /** record the call: one stereo WAV in `dir`, named by the session id (caller left, agent right) */
  record?: { dir: string; sessionId: string };
  /** every 20 ms of the caller's audio: rate/50 samples s16 mono; pts in samples at `rate` */
  onPcm: (samples: Int16Array, pts: number) => void;
  /** the peer's outgoing track (absent on a receive-only session: no audio back) */
  out?: PacketSink;
  startMs?: number;
  jitter?: PlayoutDelayOptions;
  /** the application audio's pacer clock (default the process clock) */
  clock?: Clock;
  /** pace the application's audio on this shared 20 ms source (the node's ticker) instead of a
   *  timer of its own (src/media/send/pacer.ts) */
  ticks?: TickSource;
  /**
   * The call begins when start() is called (the node: when the caller's peer connects), not now:
   * the agent's audio is queued and sent from then (its greeting would otherwise be paced to a
   * track not open yet, lost, its marks answered as played), and a recording's timeline starts
   * then — not at the answer, with the seconds of ICE and DTLS as made-up caller silence sent to
   * the agent and written to the file. Default false: the call begins at construction.
   */
  waitForPeer?: boolean;
  /** bound of the application audio queue (default BRIDGE_OUT_BUFFER_MS) */
  maxBufferMs?: number;
  /** Opus encoder complexity of the audio back (default ECHO_OPUS_COMPLEXITY: the encoder is
   *  most of a bridged session's CPU, as of an echo's; RTCGW_ECHO_COMPLEXITY sets both) */
  encoderComplexity?: number;
  log?: Logger;
}

export interface BridgeStats {
  /** 20 ms frames handed to onPcm */
  framesOut: number;
  /** onPcm calls that threw (counted; the call goes on) */
  onPcmErrors: number;
  /** ms of application audio accepted by pushPcm */
  pushedMs: number;
  /** pushPcm calls refused (no outgoing track, or a session already closed) */
  refusedPushes: number;
  clears: number;
}

/** Cuts whatever frame sizes the resample stage delivers into exact 20 ms frames. */
class Framer implements FrameConsumer {
  readonly #chunker: Chunker;
  readonly #frameSamples: number;
  #pts: number | undefined;
  frames = 0;
  errors = 0;

  constructor(
    rate: number,
    private readonly emit: (samples: Int16Array, pts: number) => void,
    private readonly onError: (err: unknown) => void,
  ) {
    this.#frameSamples = (rate * BRIDGE_FRAME_MS) / 1000;
    this.#chunker = new Chunker(this.#frameSamples, (chunk) => this.#deliver(chunk));
  }

  onFrame(f: AudioFrame): void {
    // the timeline is contiguous after repair, so the first frame's pts anchors every later one
    if (this.#pts === undefined) this.#pts = f.pts;
    this.#chunker.push(f.samples);
  }

  /** the call ended: a last partial frame goes out padded with silence (every frame is 20 ms) */
  onEnd(): void {
    this.#chunker.flushPadded();
  }

  #deliver(chunk: Int16Array): void {
    const pts = this.#pts! + this.frames * this.#frameSamples;
    this.frames++;
    try {
      this.emit(chunk.slice(), pts); // a copy: the consumer may keep it
    } catch (err) {
      this.errors++;
      this.onError(err);
    }
  }
}

export class BridgeSession {
  readonly profile = "bridge";
  readonly rate: BridgeRate;
  readonly inbound: InboundAudio;
  /** the application's audio back to the caller (undefined on a receive-only session) */
  readonly out: PcmOut | undefined;
  readonly #framer: Framer;
  readonly #sub: ReturnType<InboundAudio["subscribe"]>;
  readonly #log: Logger | undefined;
  #recording: TwoChannelWav | undefined;
  readonly #recSubs: Array<{ stop(): void }> = [];
  #pushedMs = 0;
  #refused = 0;
  #clears = 0;
  #closed = false;
  readonly #waitsForPeer: boolean;
  readonly #records: boolean;
  #started = false;

  constructor(o: BridgeSessionOptions) {
    this.#log = o.log;
    this.rate = o.rate ?? BRIDGE_RATE;
    // a recording puts both sides on one timeline from the call's start: the caller's starts then
    // too (silence until its first packet), the agent's pacer starts with it — now, or at start()
    this.#waitsForPeer = o.waitForPeer ?? false;
    this.#records = !!o.record;
    const startMs =
      o.startMs ?? (o.record && !this.#waitsForPeer ? (o.clock ? o.clock.now() : Date.now()) : undefined);
    // Opus decodes natively at every bridge rate: no 48 kHz decode + resample
    this.inbound = new InboundAudio({
      codec: o.codec,
      rate: this.rate,
      startMs,
      jitter: o.jitter,
      // the agent gets each frame as its packet arrives; only a gap waits for the jitter depth
      eager: true,
    });
    this.#framer = new Framer(this.rate, o.onPcm, (err) =>
      this.#log?.warn(
        { event: "bridge_onpcm_failed", err: (err as Error)?.message },
        "bridge consumer threw",
      ),
    );
    // leadIn: a G.711 caller is resampled up to the agent's rate; without it the resampler's few
    // held samples made every 20 ms frame wait for the next packet
    this.#sub = this.inbound.subscribe(this.#framer, {
      rate: this.rate,
      channels: 1,
      name: "bridge",
      leadIn: true,
    });
    // The application's audio runs on PcmOut's own pacer (on the node's shared ticker when given
    // one, in a slice of its own: no timer per session), not on the inbound timeline, so the
    // inbound's frame lateness does not describe it; the pacer skips the ticks it missed after a stall
    // (send/pacer.ts), which is the same "no burst of old audio" rule.
    // Opus encodes the agent's rate as it is: no resampler before the encoder, and its analysis
    // at 16 kHz costs about half its 48 kHz one (a bridged session's largest CPU term)
    const direct = o.codec.codec === "opus" && isOpusDecodeRate(this.rate);
    this.out = o.out
      ? new PcmOut({
          codec: o.codec,
          out: o.out,
          ...(direct ? { rate: this.rate } : {}),
          complexity: o.encoderComplexity ?? ECHO_OPUS_COMPLEXITY,
          maxBufferMs: o.maxBufferMs ?? BRIDGE_OUT_BUFFER_MS,
          ...(o.clock ? { clock: o.clock } : {}),
          ...(o.ticks ? { ticks: o.ticks } : {}),
          ...(this.#waitsForPeer ? { held: true } : {}),
        })
      : undefined;
    if (o.record) this.#record(o.record);
    o.log?.debug({ event: "bridge_started", payloadType: o.codec.payloadType, sends: !!this.out }, "bridge");
  }

  /** record=1: one stereo WAV, caller left, agent right (sinks/two-channel-wav.ts) */
  #record(r: { dir: string; sessionId: string }): void {
    const rec = new TwoChannelWav(recordingPath(r.dir, r.sessionId, ".wav"), this.rate);
    this.#recording = rec;
    this.#recSubs.push(
      this.inbound.subscribe(rec.caller, { rate: this.rate, channels: 1, name: "bridge-record" }),
    );
    const out = this.out;
    if (!out) return;
    // the agent's frames as they leave (the pacer's ticks), at the recording's rate; a frame is
    // placed where its tick ended, less the resampler's delay
    const frameAtRate = (this.rate * BRIDGE_FRAME_MS) / 1000;
    const stage: ResampleStage = new ResampleStage({
      inRate: out.source.rate,
      inChannels: 1,
      outRate: this.rate,
      outChannels: 1,
      next: {
        onFrame: (f: AudioFrame): void =>
          rec.agent(f.samples, Math.max(0, f.pts + frameAtRate - stage.latency)),
      },
    });
    const stop = out.source.subscribe(stage);
    this.#recSubs.push({
      stop: () => {
        stop();
        stage.destroy();
      },
    });
  }

  /** record=1: the one stereo WAV */
  recordingFiles(): { wav: string } | undefined {
    return this.#recording ? { wav: this.#recording.path } : undefined;
  }

  /** the caller's peer connected at `nowMs` (`waitForPeer`): the call begins; later calls do nothing */
  start(nowMs: number): void {
    if (this.#started || this.#closed || !this.#waitsForPeer) return;
    this.#started = true;
    // the recording's timeline starts here, unless the caller's first packet already started it
    if (this.#records) this.inbound.startAt(nowMs);
    this.out?.start();
  }

  pushRtp(packet: Uint8Array, arrivalMs: number): void {
    this.inbound.pushRtp(packet, arrivalMs);
  }

  tick(nowMs: number): void {
    this.inbound.tick(nowMs);
  }

  /**
   * Queue the application's audio for the caller: s16 mono at the session's rate, any length.
   * Returns false (and counts it) when there is nowhere to play it: a receive-only session, or a
   * closed one.
   */
  pushPcm(samples: Int16Array): boolean {
    if (this.#closed || !this.out) {
      this.#refused++;
      return false;
    }
    this.out.push(samples, this.rate, 1);
    this.#pushedMs += (samples.length * 1000) / this.rate;
    return true;
  }

  /**
   * Answer `done` when the audio queued so far has left as RTP ("played"), or was dropped by
   * clear() or the end of the call ("cleared"). A receive-only session plays nothing: at once.
   */
  mark(done: (outcome: MarkOutcome) => void): void {
    if (this.#closed || !this.out) done("played");
    else this.out.mark(done);
  }

  /** drop the application audio not yet played (barge-in), with a short fade; marks answered */
  clear(): void {
    this.#clears++;
    this.out?.clear();
  }

  /** marks waiting for their audio to leave */
  get pendingMarks(): number {
    return this.out?.pendingMarks ?? 0;
  }

  /** ms of the application's audio that has left as RTP so far */
  get playedMs(): number {
    return this.out?.source.stats().playedMs ?? 0;
  }

  /** ms of application audio waiting to be played */
  get queuedMs(): number {
    return this.out?.source.stats().bufferedMs ?? 0;
  }

  close(nowMs: number): RecordingResult | undefined {
    if (this.#closed) return;
    this.#closed = true;
    this.inbound.close(nowMs); // onEnd runs down to the framer: the last partial frame goes out
    this.#sub.stop();
    for (const s of this.#recSubs) s.stop();
    this.out?.close();
    const wav = this.#recording?.close();
    this.#log?.debug(
      { event: "bridge_closed", framesOut: this.#framer.frames, pushedMs: Math.round(this.#pushedMs) },
      "bridge closed",
    );
    return wav ? { wav } : undefined;
  }

  bridgeStats(): BridgeStats {
    return {
      framesOut: this.#framer.frames,
      onPcmErrors: this.#framer.errors,
      pushedMs: this.#pushedMs,
      refusedPushes: this.#refused,
      clears: this.#clears,
    };
  }

  stats(): PipelineStats & { bridge: BridgeStats } {
    return {
      ...receiverStats(this.profile, this.inbound),
      ...(this.out ? { sender: this.out.sender.stats(), appOut: appOutLoss(this.out) } : {}),
      bridge: this.bridgeStats(),
    };
  }
}

function appOutLoss(out: PcmOut): { droppedMs: number; lateMs: number } {
  const s = out.source.stats();
  return { droppedMs: s.droppedMs, lateMs: s.lateMs };
}

export async function createBridgeSession(o: BridgeSessionOptions): Promise<BridgeSession> {
  await loadResampler(); // G.711 timelines are resampled to 16 kHz; application PCM to the codec rate
  return new BridgeSession(o);
}
