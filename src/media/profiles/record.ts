// The `record` profile: the receive timeline → resample to the chosen rate/layout → WAV, and the
// original Opus packets, slot by slot, → Ogg (no transcoding). Files are named from the session
// id inside the recordings directory; limits stop a recording cleanly.
import { rmSync } from "node:fs";
import type { CodecSpec } from "../../audio/codecs/types.js";
import { loadResampler } from "../../audio/resampler/index.js";
import type { Logger } from "../../log/index.js";
import type { PlayoutDelayOptions } from "../receive/playout-delay.js";
import type { RecordingLimits } from "../sinks/limits.js";
import { OggOpusWriter } from "../sinks/ogg-opus-writer.js";
import { recordingPath } from "../sinks/paths.js";
import { WavWriter } from "../sinks/wav-writer.js";
import { InboundAudio } from "./inbound.js";
import { type PipelineStats, receiverStats } from "./stats.js";

export type RecordRate = 8000 | 16000 | 24000 | 32000 | 44100 | 48000;

export interface RecordSessionOptions {
  sessionId: string;
  /** RECORDINGS_DIR */
  dir: string;
  codec: CodecSpec;
  /** WAV sample rate (default 48000) */
  rate?: RecordRate;
  /** WAV channels (default 1; stereo needs a stereo codec) */
  channels?: 1 | 2;
  /** also keep the original Opus packets in `<id>.ogg` (default true for Opus) */
  ogg?: boolean;
  limits?: RecordingLimits;
  /** the call's start on the tick/arrival clock (default: first packet) */
  startMs?: number;
  jitter?: PlayoutDelayOptions;
  log?: Logger;
}

export interface RecordingResult {
  wav?: string;
  ogg?: string;
}

export class RecordSession {
  readonly profile = "record";
  readonly sessionId: string;
  readonly inbound: InboundAudio;
  readonly wav: WavWriter;
  readonly ogg: OggOpusWriter | undefined;
  readonly #wavSub: ReturnType<InboundAudio["subscribe"]>;
  readonly #log: Logger | undefined;
  #closed: RecordingResult | undefined;

  constructor(o: RecordSessionOptions) {
    this.sessionId = o.sessionId;
    this.#log = o.log;
    const rate = o.rate ?? 48000;
    const channels = o.channels ?? 1;
    const wavPath = recordingPath(o.dir, o.sessionId, ".wav");
    const wantOgg = (o.ogg ?? true) && o.codec.codec === "opus";
    const oggPath = wantOgg ? recordingPath(o.dir, o.sessionId, ".ogg") : undefined;
    this.wav = new WavWriter(wavPath, { rate, channels, ...o.limits });
    try {
      this.ogg = oggPath
        ? new OggOpusWriter(oggPath, { channels: o.codec.channels, ...o.limits })
        : undefined;
    } catch (err) {
      // no half-open session: release the WAV's descriptor and remove the file it just created
      // (a session refused leaves no file behind)
      this.wav.close();
      rmSync(wavPath, { force: true });
      throw err;
    }
    for (const sink of [this.wav, this.ogg]) {
      sink?.events.on("limit", (e) =>
        this.#log?.warn({ event: "recording_limit", ...e }, "recording stopped at its limit"),
      );
    }
    this.inbound = new InboundAudio({
      codec: o.codec,
      rate,
      startMs: o.startMs,
      jitter: o.jitter,
    });
    // the Ogg writer keeps the original packets, slot by slot, straight from the timeline
    if (this.ogg) this.inbound.subscribePackets(this.ogg);
    this.#wavSub = this.inbound.subscribe(this.wav, {
      rate,
      channels,
      name: "wav",
      queueFrames: 250,
      span: true,
    });
    this.#log?.info({ event: "recording_started", wav: wavPath, ogg: oggPath, rate, channels }, "recording");
  }

  recordingFiles(): { wav: string; ogg?: string } {
    return { wav: this.wav.path, ...(this.ogg ? { ogg: this.ogg.path } : {}) };
  }

  pushRtp(packet: Uint8Array, arrivalMs: number): void {
    this.inbound.pushRtp(packet, arrivalMs);
  }

  tick(nowMs: number): void {
    this.inbound.tick(nowMs);
  }

  /** end the call at `nowMs`: complete the timeline, flush the resampler tail, finalise both files */
  close(nowMs: number): RecordingResult {
    if (this.#closed) return this.#closed;
    this.inbound.close(nowMs); // WAV chain: flush via onEnd (resampler tail, header patch, close)
    this.#wavSub.stop();
    this.wav.close();
    this.ogg?.close();
    this.#closed = { wav: this.wav.path, ogg: this.ogg?.path };
    const c = this.inbound.counters();
    this.#log?.info(
      {
        event: "recording_closed",
        timelineMs: c.frames * 20,
        // what the network and the timeline did to this call: a WAV that is longer or shorter
        // than the caller's audio is explained here (re-anchors, late, lost, leading/trailing)
        receiver: c,
        wavMs: this.wav.durationMs,
        oggMs: this.ogg?.durationMs,
        ...this.#closed,
      },
      "recording closed",
    );
    return this.#closed;
  }

  stats(): PipelineStats {
    return {
      ...receiverStats(this.profile, this.inbound),
      wav: this.wav.stats(),
      ogg: this.ogg?.stats(),
    };
  }
}

export async function createRecordSession(o: RecordSessionOptions): Promise<RecordSession> {
  await loadResampler();
  return new RecordSession(o);
}
