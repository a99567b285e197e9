// Prometheus metrics of one media node, in its own prom-client Registry (several nodes may share
// a process in tests and in `rtcgw dev`).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { BridgeAudioLost, BridgeLegStats } from "../control/contract.js";

/** a live bridged session's audio lost so far, for the per-direction overload counter */
export interface BridgeLossSource {
  id: string;
  lost: BridgeAudioLost | undefined;
}

/** the counter's (direction, cause) labels for each field of BridgeAudioLost */
const LOSS_LABELS = [
  ["to-agent", "backpressure", (l: BridgeAudioLost) => l.toAgent.backpressure],
  ["to-agent", "socket-closed", (l: BridgeAudioLost) => l.toAgent.socketClosed],
  ["to-caller", "queue-full", (l: BridgeAudioLost) => l.toCaller.queueFull],
  ["to-caller", "late", (l: BridgeAudioLost) => l.toCaller.late],
] as const;

/** how often the event-loop delay is sampled (prom-client's default metrics sample it: one
 *  histogram per process — each is a libuv timer waking the loop 100×/s; two of them were most of
 *  an idle node's CPU, 0.3 % of a core, issue 18) */
const LOOP_RESOLUTION_MS = 10;

export type TeardownReason =
  | "client"
  | "peer-closed"
  | "failed"
  | "connect-timeout"
  | "disconnect-timeout"
  | "media-timeout"
  | "resume-timeout"
  | "drain"
  | "shutdown"
  | "source-ended"
  | "agent-hangup"
  | "agent-gone"
  /** its registry record was found ended (node-lost, deleted) while the node did not answer */
  | "ended-elsewhere"
  /** a server-side failure to answer an offer */
  | "error"
  /** its offer was refused after the peer existed (libdatachannel could not apply it): counted in
   *  rtcgw_offers_refused_total{reason}, as offers refused before, never in the teardowns */
  | "refused";

/** Watchdog reasons: the session would have been a ghost without the watchdog (docs/design.md rule 3). */
export const GHOST_REASONS = new Set<TeardownReason>([
  "connect-timeout",
  "resume-timeout",
  "disconnect-timeout",
  "media-timeout",
]);

export class NodeMetrics {
  readonly registry = new Registry();
  readonly teardowns: Counter<"reason">;
  /** sessions interrupted (peer disconnected, failed, closed or silent), by cause */
  readonly interruptions: Counter<"cause">;
  /** interrupted sessions connected again by their own peer's RTP (it had gone silent), by cause */
  readonly recoveries: Counter<"cause">;
  /** resumes with a new peer: "resumed" (connected), "superseded" (a newer one came first),
   *  "abandoned" (posted while the old peer carried the call, never connected: dropped) */
  readonly resumes: Counter<"outcome">;
  readonly ghosts: Counter;
  readonly packets: Counter<"direction">;
  readonly connectSeconds: Histogram;
  readonly concealedSeconds: Counter;
  readonly silenceFilledSeconds: Counter;
  readonly recordingFailures: Counter;
  readonly recordingUploads: Counter<"outcome">;
  readonly refused: Counter<"reason">;
  readonly bridgeSessions: Counter<"outcome">;
  readonly bridgeFrames: Counter<"fate">;
  readonly bridgeProtocolErrors: Counter;
  readonly bridgeCallerTextsRefused: Counter;
  readonly bridgeClosedNotReading: Counter;
  readonly bridgeReconnects: Counter;
  readonly bridgeJitterDepth: Histogram;
  /** audio a bridged call lost, by direction and cause: counted live (at each scrape) and at the end */
  readonly bridgeAudioLost: Counter<"direction" | "cause">;
  /** what each live bridged session's loss was when last counted (deltas go to the counter) */
  readonly #lossCounted = new Map<string, number[]>();
  #liveBridges: () => Iterable<BridgeLossSource> = () => [];
  #recordUnavailable: () => string | undefined = () => undefined;

  constructor(
    nodeId: string,
    sessionsByState: () => Record<string, number>,
    utilization: () => number = () => 0,
    cpuShare: () => number = () => 0,
    /** where the process runs its Opus encoder (native or wasm), read at each scrape: the choice
     *  is the process' (RTCGW_OPUS_ENCODER), and another node started in it may change it */
    opusEncoder: () => string = () => "unknown",
  ) {
    this.registry.setDefaultLabels({ node: nodeId });
    collectDefaultMetrics({
      register: this.registry,
      prefix: "rtcgw_",
      eventLoopMonitoringPrecision: LOOP_RESOLUTION_MS,
    });
    // prom-client's sums of its per-type gauges are gauges named `_total`, a suffix Prometheus
    // keeps for counters (`promtool check metrics`): the per-type gauges say the same, summed
    for (const t of ["handles", "requests", "resources"])
      this.registry.removeSingleMetric(`rtcgw_nodejs_active_${t}_total`);
    const r = [this.registry];
    new Gauge({
      name: "rtcgw_sessions",
      help: "sessions on this node by state",
      labelNames: ["state"],
      registers: r,
      collect() {
        this.reset();
        for (const [state, n] of Object.entries(sessionsByState())) this.set({ state }, n);
      },
    });
    this.teardowns = new Counter({
      name: "rtcgw_session_teardowns_total",
      help: "sessions torn down, by reason",
      labelNames: ["reason"],
      registers: r,
    });
    this.interruptions = new Counter({
      name: "rtcgw_session_interruptions_total",
      help: "sessions whose peer disconnected, failed, closed or went silent (kept for a resume), by cause",
      labelNames: ["cause"],
      registers: r,
    });
    this.recoveries = new Counter({
      name: "rtcgw_session_recoveries_total",
      help: "interrupted sessions connected again by their own peer sending RTP again (it had gone silent), by the interruption's cause",
      labelNames: ["cause"],
      registers: r,
    });
    this.resumes = new Counter({
      name: "rtcgw_session_resumes_total",
      help: "resumes with a new peer, by outcome (resumed, superseded, abandoned: its peer never connected and the call went on on its old peer)",
      labelNames: ["outcome"],
      registers: r,
    });
    this.ghosts = new Counter({
      name: "rtcgw_ghost_sessions_total",
      help: "sessions reaped by the watchdog (never connected, disconnected too long, or silent)",
      registers: r,
    });
    this.refused = new Counter({
      name: "rtcgw_offers_refused_total",
      help: "offers refused, by reason",
      labelNames: ["reason"],
      registers: r,
    });
    this.packets = new Counter({
      name: "rtcgw_rtp_packets_total",
      help: "RTP packets received (in), sent (out), refused by libdatachannel on send (send-failed)",
      labelNames: ["direction"],
      registers: r,
    });
    this.connectSeconds = new Histogram({
      name: "rtcgw_connect_seconds",
      help: "time from answer to connected",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: r,
    });
    // seconds, not ms, in every name (Prometheus' base unit; `promtool check metrics` is clean:
    // test/node/metrics-lint.test.ts)
    this.concealedSeconds = new Counter({
      name: "rtcgw_concealed_seconds_total",
      help: "audio concealed by PLC/FEC (seconds)",
      registers: r,
    });
    this.silenceFilledSeconds = new Counter({
      name: "rtcgw_silence_filled_seconds_total",
      help: "gaps filled with silence at their true position (seconds)",
      registers: r,
    });
    this.recordingFailures = new Counter({
      name: "rtcgw_recording_failures_total",
      help: "recordings stopped early because the disk refused a write (files closed valid at that point)",
      labelNames: ["reason"],
      registers: r,
    });
    this.recordingUploads = new Counter({
      name: "rtcgw_recording_uploads_total",
      help: "recording files sent to RTCGW_RECORDINGS_BUCKET: uploaded (the local copy deleted), or failed (every attempt, or a permanent refusal: kept on disk for the next start)",
      labelNames: ["outcome"],
      registers: r,
    });
    this.bridgeSessions = new Counter({
      name: "rtcgw_bridge_sessions_total",
      help: "bridge sessions ended, by what their WebSocket leg did (ok, or failed: did not open in time, errored, closed by the application)",
      labelNames: ["outcome"],
      registers: r,
    });
    this.bridgeFrames = new Counter({
      name: "rtcgw_bridge_frames_total",
      help: "20 ms frames of caller audio for the application: sent, dropped (the application did not read fast enough), not-open (no socket to send on), gap (the socket dropped and was being redialed), early (held while the first socket opened, then sent)",
      labelNames: ["fate"],
      registers: r,
    });
    this.bridgeJitterDepth = new Histogram({
      name: "rtcgw_bridge_jitter_depth_seconds",
      help: "bridge sessions' receive jitter-buffer depth at the end of the call (how long the caller's audio waited before reaching the agent)",
      buckets: [0, 0.01, 0.02, 0.04, 0.06, 0.08, 0.12, 0.2, 0.4],
      registers: r,
    });
    const metrics = this;
    this.bridgeAudioLost = new Counter({
      name: "rtcgw_bridge_audio_lost_seconds_total",
      help: "seconds of a bridged call's audio lost, by direction and cause: to-agent backpressure (the agent's socket had ~1 s unsent: it did not read fast enough), to-agent socket-closed (no socket open: dialing or redialing), to-caller queue-full (the agent sent faster than real time beyond the 20 s queue), to-caller late (the node's pacer skipped ticks after a stall while the agent's audio waited)",
      labelNames: ["direction", "cause"],
      registers: r,
      collect() {
        // live sessions too: an overload shows while it lasts, not only when its calls end
        for (const b of metrics.#liveBridges()) metrics.#countLoss(b.id, b.lost);
      },
    });
    for (const [direction, cause] of LOSS_LABELS) this.bridgeAudioLost.inc({ direction, cause }, 0);
    this.bridgeReconnects = new Counter({
      name: "rtcgw_bridge_reconnects_total",
      help: "agent sockets that dropped and came back within RTCGW_BRIDGE_RECONNECT_S",
      registers: r,
    });
    this.bridgeProtocolErrors = new Counter({
      name: "rtcgw_bridge_protocol_errors_total",
      help: "messages from bridge applications that break the protocol (odd-length audio, bad JSON, unknown type, a message over 1 MiB, a mark beyond the pending cap)",
      registers: r,
    });
    this.bridgeCallerTextsRefused = new Counter({
      name: "rtcgw_bridge_caller_texts_refused_total",
      help: "bridged callers' datachannel texts refused for the agent: longer than 65536 characters",
      registers: r,
    });
    this.bridgeClosedNotReading = new Counter({
      name: "rtcgw_bridge_closed_not_reading_total",
      help: "agent sockets the node closed because the agent had not read 4 MiB of what was sent to it (then redialed)",
      registers: r,
    });
    const self = this;
    new Gauge({
      name: "rtcgw_recordings_unavailable",
      help: "1 while this node cannot record (reason: disk-low — free space below RTCGW_RECORDINGS_MIN_FREE_MB; disk-full, unwritable — its write probe of RECORDINGS_DIR failed): the signaling sends it no session that records",
      labelNames: ["reason"],
      registers: r,
      collect() {
        this.reset();
        const reason = self.#recordUnavailable();
        if (reason) this.set({ reason }, 1);
      },
    });
    new Gauge({
      name: "rtcgw_opus_encoder_info",
      help: "1 for where this process runs its Opus encoder (backend: native or wasm; RTCGW_OPUS_ENCODER)",
      labelNames: ["backend"],
      registers: r,
      collect() {
        this.reset();
        this.set({ backend: opusEncoder() }, 1);
      },
    });
    new Gauge({
      name: "rtcgw_event_loop_utilization",
      help: "share of time the event loop was busy (smoothed); new sessions are refused above the busy line",
      registers: r,
      collect() {
        this.set(utilization());
      },
    });
    new Gauge({
      name: "rtcgw_process_cpu_share",
      help: "the process's CPU, all threads, as a share of the cores it counts on (smoothed); new sessions are refused above the busy line",
      registers: r,
      collect() {
        this.set(cpuShare());
      },
    });
    const registry = this.registry;
    new Gauge({
      name: "rtcgw_event_loop_delay_seconds",
      // `stat`, not `quantile`: Prometheus reserves that label for summaries, and these are
      // read off Node's loop-delay histogram, not observed by a summary
      help: "event-loop delay since the last scrape (stat: min, p50, p99, max)",
      labelNames: ["stat"],
      registers: r,
      // read from prom-client's own loop-delay histogram (rtcgw_nodejs_eventloop_lag_*), which its
      // default metrics collect (and reset) before this gauge in the same scrape: registered first
      async collect() {
        const raw = async (q: string) =>
          (await registry.getSingleMetric(`rtcgw_nodejs_eventloop_lag_${q}_seconds`)?.get())?.values[0]
            ?.value;
        // the histogram records the whole interval between its samples (an idle loop reads
        // ~10 ms at a 10 ms resolution): the delay is what exceeds the resolution
        const delay = (s: number | undefined) =>
          s === undefined ? Number.NaN : Math.max(0, s * 1e3 - LOOP_RESOLUTION_MS) / 1e3;
        this.set({ stat: "min" }, delay(await raw("min")));
        this.set({ stat: "p50" }, delay(await raw("p50")));
        this.set({ stat: "p99" }, delay(await raw("p99")));
        this.set({ stat: "max" }, delay(await raw("max")));
      },
    });
  }

  /** counters bumped on the packet path are plain numbers flushed here (prom-client per packet is costly) */
  private pending = { in: 0, out: 0, "send-failed": 0 };
  packet(dir: "in" | "out" | "send-failed") {
    this.pending[dir]++;
  }
  flush() {
    for (const d of ["in", "out", "send-failed"] as const) {
      if (this.pending[d]) this.packets.inc({ direction: d }, this.pending[d]);
      this.pending[d] = 0;
    }
  }

  async text(): Promise<string> {
    this.flush();
    return this.registry.metrics();
  }

  /** prom-client's JSON form, for `rtcgw node`'s supervisor to merge its workers' (one scrape) */
  async json(): Promise<object[]> {
    this.flush();
    return this.registry.getMetricsAsJSON();
  }

  /** where the live bridged sessions are (the session table), for the loss counter's scrapes */
  watchBridges(live: () => Iterable<BridgeLossSource>) {
    this.#liveBridges = live;
  }

  /** what the recordings probe last found (undefined: the node can record) */
  watchRecordings(state: () => string | undefined) {
    this.#recordUnavailable = state;
  }

  /** add what a session lost since it was last counted; `ended` forgets it */
  #countLoss(id: string, lost: BridgeAudioLost | undefined, ended = false) {
    if (lost) {
      const before = this.#lossCounted.get(id) ?? LOSS_LABELS.map(() => 0);
      const now = LOSS_LABELS.map(([, , f]) => f(lost));
      LOSS_LABELS.forEach(([direction, cause], i) => {
        const d = now[i]! - before[i]!;
        if (d > 0) this.bridgeAudioLost.inc({ direction, cause }, d / 1000);
      });
      this.#lossCounted.set(
        id,
        now.map((v, i) => Math.max(v, before[i]!)),
      );
    }
    if (ended) this.#lossCounted.delete(id);
  }

  /** a bridge session ended: count what its WebSocket leg did */
  bridgeEnded(b: BridgeLegStats, sessionId: string) {
    this.#countLoss(sessionId, b.audioLostMs, true);
    this.bridgeSessions.inc({ outcome: b.failed ? "failed" : "ok" });
    if (b.framesSent) this.bridgeFrames.inc({ fate: "sent" }, b.framesSent);
    if (b.framesDropped) this.bridgeFrames.inc({ fate: "dropped" }, b.framesDropped);
    if (b.framesNotOpen) this.bridgeFrames.inc({ fate: "not-open" }, b.framesNotOpen);
    if (b.gapFrames) this.bridgeFrames.inc({ fate: "gap" }, b.gapFrames);
    if (b.earlyFrames) this.bridgeFrames.inc({ fate: "early" }, b.earlyFrames);
    if (b.reconnects) this.bridgeReconnects.inc(b.reconnects);
    if (b.jitterDepthMs !== undefined && Number.isFinite(b.jitterDepthMs))
      this.bridgeJitterDepth.observe(b.jitterDepthMs / 1000);
    if (b.protocolErrors) this.bridgeProtocolErrors.inc(b.protocolErrors);
    if (b.callerTextsRefused) this.bridgeCallerTextsRefused.inc(b.callerTextsRefused);
    if (b.closedNotReading) this.bridgeClosedNotReading.inc(b.closedNotReading);
  }

  close() {
    this.registry.clear();
  }
}
