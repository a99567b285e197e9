// One media node in this process: the session table, its control API, its registry heartbeat
// and its metrics, on one muxed UDP port (`rtcgw dev`, tests, and each worker of `rtcgw node`).
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Config } from "../config/index.js";
import type { Logger } from "../log/index.js";
import { currentOpusEncoder, preflightMedia, warmMedia } from "../media/index.js";
import { RecordingUploader } from "../recordings/index.js";
import type { Registry } from "../registry/types.js";
import { startControlServer } from "./control-server.js";
import { HEARTBEAT_MS, NodeHeartbeat, SESSION_TTL_MS } from "./heartbeat.js";
import { NodeMetrics } from "./metrics.js";
import { LoadGuard } from "./process/load-guard.js";
import { resolveNodeSecret } from "./process/secret.js";
import { processTicker } from "./process/ticker.js";
import { ensureUdpPortFree, freeUdpPort } from "./process/udp-port.js";
import { RecordingsProbe } from "./recordings-probe.js";
import { rtcConfigFor } from "./sessions/rtc-config.js";
import { SessionTable } from "./sessions/session-table.js";

/** how long a closing node waits for its recordings' uploads (the rest is retried at the next start;
 *  a supervisor gives its workers this long on top of the drain: supervisor.ts) */
export const UPLOAD_FLUSH_MS = 60_000;
/** how long a closing node keeps trying to end, in the registry, the sessions it ended during a
 *  registry outage (a few of its retries; beside the uploads' wait, within the supervisor's) */
export const END_FLUSH_MS = 10_000;
const MIB = 1024 * 1024;

export interface MediaNodeOptions {
  config: Config;
  registry: Registry;
  logger: Logger;
  nodeId?: string;
  /** control API port; 0 = a free port; default NODE_PORT */
  controlPort?: number;
  /** the muxed media UDP port; 0 = a free port; default MEDIA_UDP_PORT */
  udpPort?: number;
  /** control API bind host (default NODE_BIND_ADDRESS, itself 127.0.0.1) */
  controlHost?: string;
  /** event-loop utilisation (0..1) at which new sessions are refused with 503 node-busy.
   *  Off by default in-process (`rtcgw dev`, tests share the loop with other work); the node
   *  process (`rtcgw node`, its workers) sets RTCGW_BUSY_AT (default 0.85). The same line
   *  applies to the process's CPU (all threads) as a share of `busyCpuCores`. */
  busyUtilization?: number;
  /** the cores this node's CPU counts against (default: the cores the process may run on) */
  busyCpuCores?: number;
  /** the event loop's lag (ms) at which new sessions are refused with 503 node-busy; off by
   *  default in-process, the node process sets RTCGW_BUSY_LAG_MS (default 50) */
  busyLagMs?: number;
  /** how often RECORDINGS_DIR is probed (default: the heartbeat interval, 5 s) */
  recordingsProbeMs?: number;
}

export interface MediaNode {
  id: string;
  controlUrl: string;
  udpPort: number;
  /** the control API's HMAC secret (generated per process when RTCGW_NODE_SECRET is unset) */
  secret: string;
  sessions(): number;
  /** stop taking sessions (503), wait up to graceMs for them to end, close the rest */
  drain(graceMs: number): Promise<void>;
  /** close every session, deregister, stop the control server */
  close(): Promise<void>;
}

export function defaultNodeId(): string {
  const host = hostname()
    .replace(/[^A-Za-z0-9_.-]/g, "-")
    .slice(0, 40);
  return `node-${host}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

export async function startMediaNode(opts: MediaNodeOptions): Promise<MediaNode> {
  const { config, registry } = opts;
  const id = opts.nodeId ?? defaultNodeId();
  const log = opts.logger.child({ nodeId: id });
  // what can fail for every session is checked now: a node that cannot decode or record never
  // registers (docs/design.md, "No hidden degradation")
  const opusEncoder = await preflightMedia(config.RECORDINGS_DIR, config.RTCGW_OPUS_ENCODER);
  // "auto" on a platform without the native addon: the node runs, at the WASM encoder's CPU, and says so
  if (opusEncoder.fallback)
    log.warn(
      { event: "opus_encoder_fallback", reason: opusEncoder.fallback },
      "Opus encoder: WASM (no native addon)",
    );
  // the first call after a start is as fast as the rest: what V8 compiles lazily (libopus' and the
  // resampler's WASM functions, the packet path) runs now, once per process (src/media/warm.ts)
  const warm = await warmMedia();
  const { secret, generated } = resolveNodeSecret(config);
  const requestedUdp = opts.udpPort ?? config.MEDIA_UDP_PORT;
  const udpPort = requestedUdp === 0 ? await freeUdpPort(config.MEDIA_BIND_ADDRESS) : requestedUdp;
  if (requestedUdp !== 0) await ensureUdpPortFree(config.MEDIA_BIND_ADDRESS, udpPort);

  const uploader = config.RTCGW_RECORDINGS_BUCKET
    ? new RecordingUploader({
        bucket: config.RTCGW_RECORDINGS_BUCKET,
        prefix: config.RTCGW_RECORDINGS_PREFIX,
        log,
        onOutcome: (outcome) => metrics.recordingUploads.inc({ outcome }),
      })
    : undefined;
  // whether a recording can be written now: the registry record says so with every beat
  const recordings = new RecordingsProbe(config.RECORDINGS_DIR, {
    minFreeBytes: config.RTCGW_RECORDINGS_MIN_FREE_MB * MIB,
  });
  let heartbeat: NodeHeartbeat | undefined;
  let freeSpaceWarned = false;
  /** logs what the last probe found: a change of state, or a free space it could not read */
  const logProbe = (changed: boolean) => {
    if (recordings.freeSpaceError !== undefined && !freeSpaceWarned) {
      freeSpaceWarned = true;
      log.warn(
        { event: "recordings_free_space_unknown", err: recordings.freeSpaceError },
        "recordings: the free space of RECORDINGS_DIR's file system cannot be read (statfs); RTCGW_RECORDINGS_MIN_FREE_MB is not applied, the write probe alone decides",
      );
    }
    if (!changed) return;
    const state = recordings.state;
    const freeMiB = Math.floor((recordings.freeBytes ?? 0) / MIB);
    if (state === "disk-low")
      log.error(
        {
          event: "recordings_unavailable",
          reason: state,
          check: "free-space",
          freeMiB,
          floorMiB: config.RTCGW_RECORDINGS_MIN_FREE_MB,
        },
        `recordings: this node cannot record: ${freeMiB} MiB free on RECORDINGS_DIR's file system, below the floor of ${config.RTCGW_RECORDINGS_MIN_FREE_MB} MiB (RTCGW_RECORDINGS_MIN_FREE_MB); sessions that record go to other nodes`,
      );
    else if (state)
      log.error(
        { event: "recordings_unavailable", reason: state, check: "write-probe", err: recordings.lastError },
        `recordings: this node cannot record: the write probe of RECORDINGS_DIR failed (${state}: ${recordings.lastError}); sessions that record go to other nodes`,
      );
    else log.info({ event: "recordings_available" }, "recordings: this node can record again");
  };
  const probeRecordings = () => {
    void recordings.check().then((changed) => {
      logProbe(changed);
      // the signaling learns it now, not at the next beat
      if (changed && heartbeat) void heartbeat.beat().catch(() => {});
    });
  };
  let sessions: SessionTable | undefined;
  const guard = new LoadGuard({
    busyAt: opts.busyUtilization ?? Number.POSITIVE_INFINITY,
    ...(opts.busyCpuCores !== undefined ? { cpuCores: opts.busyCpuCores } : {}),
    // the lag the calls feel: how late the media clock runs (its only reader: one node per process)
    ...(opts.busyLagMs !== undefined
      ? { busyLagMs: opts.busyLagMs, lag: () => processTicker().takeMaxLateMs() }
      : {}),
    // the sessions held: a recent admission's load is projected at the cost per measured session
    sessions: () => sessions?.size ?? 0,
  });
  const metrics = new NodeMetrics(
    id,
    () => sessions?.byState() ?? {},
    () => guard.utilization,
    () => guard.cpu,
    currentOpusEncoder,
  );
  sessions = new SessionTable({
    nodeId: id,
    capacity: config.RTCGW_NODE_CAPACITY,
    maxListeners: config.RTCGW_WHEP_MAX_LISTENERS,
    rtcConfig: rtcConfigFor(config, udpPort),
    ...(config.MEDIA_ANNOUNCED_ADDRESS ? { announcedAddress: config.MEDIA_ANNOUNCED_ADDRESS } : {}),
    timeouts: {
      connectMs: config.RTCGW_CONNECT_TIMEOUT * 1000,
      disconnectMs: config.RTCGW_DISCONNECT_TIMEOUT * 1000,
      mediaMs: config.RTCGW_MEDIA_TIMEOUT * 1000,
      resumeWindowMs: config.RTCGW_RESUME_WINDOW * 1000,
      silenceMs: config.RTCGW_SILENCE_INTERRUPT_S * 1000,
    },
    recordingsDir: config.RECORDINGS_DIR,
    ...(uploader ? { uploader, recordingsPrefix: config.RTCGW_RECORDINGS_PREFIX } : {}),
    echoComplexity: config.RTCGW_ECHO_COMPLEXITY,
    bridgeAllow: config.RTCGW_BRIDGE_ALLOW,
    bridgeReconnectMs: config.RTCGW_BRIDGE_RECONNECT_S * 1000,
    ...(config.RTCGW_BRIDGE_SECRET ? { bridgeSecret: config.RTCGW_BRIDGE_SECRET } : {}),
    registry,
    metrics,
    ticker: processTicker(),
    log,
    sessionTtlMs: SESSION_TTL_MS,
    tombstoneTtlMs: config.RTCGW_TOMBSTONE_TTL * 1000,
    busy: () => (guard.busy && guard.reason ? { line: guard.reason, figures: guard.describe() } : undefined),
    admitted: (session) => guard.admitted(session),
    // a refused session may be the first sign of a full disk: look now, not at the next interval
    mediaRefused: () => probeRecordings(),
  });
  const mgr = sessions;
  metrics.watchBridges(() => mgr.bridgeLosses());
  metrics.watchRecordings(() => recordings.state);

  const control = await startControlServer({
    nodeId: id,
    secret,
    host: opts.controlHost ?? config.NODE_BIND_ADDRESS,
    port: opts.controlPort ?? config.NODE_PORT,
    sessions: mgr,
    metrics,
    log,
  });
  // RTCGW_NODE_URL: how the signaling reaches this node (behind a load balancer, another host…)
  const controlUrl = config.RTCGW_NODE_URL ?? control.url;
  heartbeat = new NodeHeartbeat({
    registry,
    // RTCGW_NODE_TURN_URLS: the TURN server beside this node, handed out to its sessions' clients
    node: {
      id,
      controlUrl,
      capacity: config.RTCGW_NODE_CAPACITY,
      ...(config.RTCGW_NODE_TURN_URLS.length > 0 ? { turnUrls: config.RTCGW_NODE_TURN_URLS } : {}),
    },
    load: () => mgr.size,
    touchSessions: () => mgr.touchAll(),
    recordUnavailable: () => recordings.state,
    log,
  });
  // a worker killed mid-probe left its probe file: the first to start after it removes it
  const leftovers = await recordings.removeLeftovers();
  if (leftovers.length > 0)
    log.info(
      { event: "recordings_probe_leftovers_removed", files: leftovers },
      `recordings: removed ${leftovers.length} probe file(s) of processes that no longer exist`,
    );
  logProbe(await recordings.check());
  const probeTimer = setInterval(probeRecordings, opts.recordingsProbeMs ?? HEARTBEAT_MS);
  probeTimer.unref();
  try {
    await heartbeat.start();
  } catch (e) {
    clearInterval(probeTimer);
    await control.close();
    mgr.stop();
    guard.stop();
    metrics.close();
    throw e;
  }
  log.info(
    {
      controlUrl,
      udpPort,
      bind: config.MEDIA_BIND_ADDRESS,
      announced: config.MEDIA_ANNOUNCED_ADDRESS,
      generatedSecret: generated,
      warmUpMs: Math.round(warm.ms),
      opusEncoder: opusEncoder.backend,
    },
    "media node started",
  );

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      await mgr.closeAll("shutdown");
      // the last recordings reach the bucket before the process (and, on EC2, its disk) goes, and
      // the calls it ended reach the registry: during a registry outage their ends wait in
      // memory, and a process that left at once lost them (GET then said node-lost)
      const [, unended] = await Promise.all([uploader?.flush(UPLOAD_FLUSH_MS), mgr.flushEnds(END_FLUSH_MS)]);
      if (unended.length > 0)
        log.error(
          { sessions: unended, waitedMs: END_FLUSH_MS },
          "registry: these sessions ended here but their records could not be ended; they read connected until their TTL, then node-lost",
        );
      mgr.stop();
      clearInterval(probeTimer);
      await heartbeat.stop();
      await control.close();
      guard.stop();
      metrics.close();
      log.info("media node stopped");
    })();
    return closed;
  };

  return {
    id,
    controlUrl,
    udpPort,
    secret,
    sessions: () => mgr.size,
    async drain(graceMs: number) {
      const draining = mgr.drain(graceMs);
      await heartbeat.setDraining();
      await draining;
    },
    close,
  };
}
