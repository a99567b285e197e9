// The node's one seam to the pipeline: a session's media is built here by createProfile
// (src/media/profiles/create.ts) and nowhere else. Around the pipeline's MediaSession the node
// adds what only it has: the shared 20 ms ticker, the bridge's WebSocket (src/node/bridge/), the
// control API's stats shape, and WHEP listeners fed from a source. Until the session has its
// media, and after, every packet is still consumed (docs/design.md rule 2).
import { rmSync } from "node:fs";
import type { BridgeLegStats, MediaStats, Profile } from "../../control/contract.js";
import type { Logger } from "../../log/index.js";
import {
  createProfile,
  listenTo,
  type MediaSession,
  type NegotiatedCodec,
  type PacketSink,
  type ProfileContext,
  restamp,
} from "../../media/index.js";
import { AgentBridge, type BridgeContext } from "../bridge/agent-bridge.js";
import { bridgeAudioLost } from "../bridge/audio-lost.js";
import type { SharedTicker } from "../process/ticker.js";

/** a session's media figures as the control API reports them */
export interface SessionMediaStats extends MediaStats {
  bridge?: BridgeLegStats;
  /** the recording stopped early: the disk refused a write ("disk_full: ENOSPC") */
  recordingError?: string;
}

export const ZERO_STATS: MediaStats = {
  lost: 0,
  late: 0,
  duplicates: 0,
  reordered: 0,
  concealedMs: 0,
  silenceFilledMs: 0,
};

export interface SessionMediaOptions extends Omit<ProfileContext, "app"> {
  profile: Profile;
  ticker: SharedTicker;
  /** bridge profile: the agent's socket (URL already checked against RTCGW_BRIDGE_ALLOW), protocol, rate */
  bridge?: BridgeContext;
}

export class SessionMedia {
  #unsubscribe: () => void = () => {};
  #closed = false;
  #depthAtEnd: number | undefined;
  /** peerConnected() ran: the call began */
  #began = false;

  private constructor(
    /** the pipeline's side: RTP in (PeerSession pushes straight here), ticks, stats, close */
    readonly pipeline: MediaSession,
    /** the bridge's agent leg, closed with the session */
    private readonly app: AgentBridge | undefined,
    ticker: SharedTicker,
    private readonly log: Logger,
  ) {
    // a black hole has no timeline to drive
    if (pipeline.profile !== "blackhole")
      this.#unsubscribe = ticker.subscribe((now) => {
        try {
          pipeline.tick(now);
        } catch (e) {
          log.error({ err: (e as Error).message }, "pipeline tick failed");
        }
      });
  }

  /**
   * The session's media, or MediaAssemblyError (the session is then refused: 503). The bridge's
   * socket dials in the background: the session is answered whether or not it ever opens.
   */
  static async assemble(o: SessionMediaOptions): Promise<SessionMedia> {
    const { profile, ticker, bridge, ...ctx } = o;
    const app =
      profile === "bridge" && bridge && ctx.receives
        ? new AgentBridge(bridge, { sessionId: ctx.sessionId, sendsBack: !!ctx.out, log: ctx.log })
        : undefined;
    try {
      // the bridge paces the agent's audio on the shared ticker too: no timer per session
      // sessions are answered before their peer connects: what needs the peer begins at peerConnected()
      const pipeline = await createProfile(profile, {
        ...ctx,
        ...(app ? { app } : {}),
        ticks: ticker,
        waitForPeer: true,
      });
      return new SessionMedia(pipeline, app, ticker, ctx.log);
    } catch (e) {
      app?.close("session refused");
      throw e;
    }
  }

  /** the files the session records into while it runs */
  recordingFiles(): { wav: string; ogg?: string } | undefined {
    return this.#closed ? undefined : this.pipeline.recordingFiles?.();
  }

  /** the session's first peer connected: the call begins (MediaSession.start) */
  peerConnected(nowMs: number): void {
    if (this.#closed) return;
    this.#began = true;
    try {
      this.pipeline.start?.(nowMs);
    } catch (e) {
      this.log.error({ err: (e as Error).message }, "pipeline start failed");
    }
  }

  /** a bridged call's datachannel text goes to the agent (other profiles have none: the peer echoes) */
  get onText(): ((text: string) => void) | undefined {
    const app = this.app;
    return app ? (text) => app.onCallerText(text) : undefined;
  }

  /** the bridge's agent leg, for events of the call the agent should hear of (e.g. a resume) */
  get agent(): AgentBridge | undefined {
    return this.app;
  }

  stats(): SessionMediaStats {
    const s = this.pipeline.stats();
    return {
      lost: s.lost,
      late: s.late,
      duplicates: s.duplicates,
      reordered: s.reordered,
      concealedMs: s.concealedMs,
      silenceFilledMs: s.silenceFilledMs,
      // the caller's audio reaches the agent this much after it arrived (the receive side's
      // adaptive jitter depth): the bridge's largest latency term, shown where the leg is
      ...(this.app ? { bridge: this.#bridgeStats(s) } : {}),
      ...(recordingError(s) ? { recordingError: recordingError(s) } : {}),
    };
  }

  #bridgeStats(s: ReturnType<MediaSession["stats"]>): BridgeLegStats {
    const leg = this.app!.stats();
    return {
      ...leg,
      jitterDepthMs: this.#depthAtEnd ?? s.jitterDepthMs,
      // which direction lost audio (rtcgw_bridge_audio_lost_seconds_total)
      audioLostMs: bridgeAudioLost(leg, s.appOut),
    };
  }

  /** the session continues on a new peer after `gapMs` without audio (resume.ts): the bridge's
   *  application keeps its one socket and is told (protocol: docs/pipeline.md) */
  resumed(gapMs: number): void {
    this.app?.notify({ type: "resumed", gapMs });
  }

  /** the call's true end: the timeline completed to now, files flushed (a recording is as long as the call) */
  async close(): Promise<{ wav?: string; ogg?: string } | undefined> {
    if (this.#closed) return undefined;
    this.#closed = true;
    this.#unsubscribe();
    this.#depthAtEnd = this.pipeline.stats().jitterDepthMs; // the closed receiver has none
    const files = this.pipeline.close(Date.now());
    this.app?.close("session ended");
    if (!files || this.#began) return files ?? undefined;
    // The peer never connected (a connect timeout, a refused answer, an abandoned offer): the
    // files hold nothing of a call (a header, Ogg's headers). Left, every offer anyone posts and
    // drops would leave a pair behind — and with a bucket, upload it.
    const paths = [files.wav, files.ogg].filter((f): f is string => !!f);
    for (const f of paths) rmSync(f, { force: true });
    this.log.info(
      { event: "recording_discarded", files: paths },
      "recording removed: the peer never connected",
    );
    return undefined;
  }
}

/** the parts of a source session a WHEP listener is fed from */
export interface ListenSource {
  readonly media: SessionMedia | undefined;
  addRtpListener(fn: (packet: Buffer) => void): () => void;
}

/**
 * A source that decodes nothing (the blackhole profile, or a session that receives no audio) has
 * no timeline to re-encode from: its listeners get its packets as they are, re-stamped with their
 * payload type and SSRC — so only a listener of the source's own codec can play them. Every other
 * source's listeners may take any codec (re-encoded from the decoded audio).
 */
export function relaysPacketsAsIs(source: ListenSource): boolean {
  return !source.media?.pipeline.inbound;
}

/**
 * Feed a WHEP listener from its source: the source's decoded audio re-encoded for the listener,
 * or — a source that decodes nothing (relaysPacketsAsIs) — its packets re-stamped with the
 * listener's payload type and SSRC. Returns the stop.
 */
export function feedListener(
  source: ListenSource,
  listener: { sessionId: string; codec: NegotiatedCodec; out: PacketSink },
): () => void {
  const inbound = source.media?.pipeline.inbound;
  if (inbound) {
    const l = listenTo(inbound, listener);
    return () => l.stop();
  }
  const { out, codec } = listener;
  return source.addRtpListener((p) => {
    if (p.length >= 12) out.send(restamp(p, codec.payloadType, out.ssrc));
  });
}

/** why a session's recording stopped early, if the disk refused one of its files */
function recordingError(s: {
  wav?: { writeError?: string };
  ogg?: { writeError?: string };
}): string | undefined {
  const e = s.wav?.writeError ?? s.ogg?.writeError;
  return e ? `disk_full: ${e}` : undefined;
}
