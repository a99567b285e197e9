// The node's session table: admission (capacity, draining), offer → answer, trickle, status,
// registry state and teardown; the watchdog (watchdog.ts) reaps through it. Transport-agnostic:
// the control server calls into it.
import type { RtcConfig } from "node-datachannel";
import { checkBridgeUrl } from "../../config/bridge-url.js";
import type {
  CreateSessionRequest,
  NodeHealth,
  ResumeSessionRequest,
  SessionStatus,
} from "../../control/contract.js";
import { type Logger, sessionLogger } from "../../log/index.js";
import { MediaAssemblyError } from "../../media/index.js";
import { type RecordingUploader, recordingObjects } from "../../recordings/index.js";
import type { Registry, SessionState } from "../../registry/types.js";
import type { BridgeContext } from "../bridge/agent-bridge.js";
import { type BridgeLossSource, GHOST_REASONS, type NodeMetrics, type TeardownReason } from "../metrics.js";
import type { AdmittedSession } from "../process/load-guard.js";
import type { SharedTicker } from "../process/ticker.js";
import {
  MediaNodeError,
  NodeUnavailableError,
  OfferError,
  RestartUnsupportedError,
  SessionExistsError,
  SessionGoneError,
  SessionNotFoundError,
  SourceIsListenerError,
  SourceNotFoundError,
  TooManyListenersError,
} from "./errors.js";
import { validateOffer } from "./offer.js";
import { PeerSession, type PeerState } from "./peer-session.js";
import { SessionRecordSync } from "./registry-sync.js";
import {
  abandonResume,
  carriedBy,
  carrierBack,
  checkResumeOffer,
  completeResume,
  handOver,
  interrupt,
  interruptCarrier,
  onResumedFirstRtp,
  recoverFromSilence,
  resumeDeadline,
  undoHandOver,
} from "./resume.js";
import { parseSdpFrag } from "./sdp-rewrite.js";
import {
  feedListener,
  relaysPacketsAsIs,
  SessionMedia,
  type SessionMediaStats,
  ZERO_STATS,
} from "./session-media.js";
import { TurnQueue } from "./turn-queue.js";
import { type Timeouts, Watchdog, type WatchdogVerdict } from "./watchdog.js";

export interface SessionTableOptions {
  nodeId: string;
  capacity: number;
  /** WHEP listeners one source session may have (RTCGW_WHEP_MAX_LISTENERS; absent: no limit) */
  maxListeners?: number;
  rtcConfig: RtcConfig;
  announcedAddress?: string;
  timeouts: Timeouts;
  recordingsDir: string;
  /** recordings leave the node when the session ends (RTCGW_RECORDINGS_BUCKET; src/recordings) */
  uploader?: RecordingUploader;
  recordingsPrefix?: string;
  /** the echo's Opus encoder complexity (RTCGW_ECHO_COMPLEXITY) */
  echoComplexity?: number;
  /** the URLs the bridge profile may dial (RTCGW_BRIDGE_ALLOW entries, rules in config/bridge-url.ts; empty or absent: bridge refused) */
  bridgeAllow?: readonly string[];
  /** how long a dropped agent socket is redialed (RTCGW_BRIDGE_RECONNECT_S) */
  bridgeReconnectMs?: number;
  /** RTCGW_BRIDGE_SECRET: agent dials are signed with it */
  bridgeSecret?: string;
  registry: Registry;
  metrics: NodeMetrics;
  ticker: SharedTicker;
  log: Logger;
  /** TTL of session records, refreshed by the heartbeat */
  sessionTtlMs: number;
  /** how long an ended session's tombstone lives (RTCGW_TOMBSTONE_TTL) */
  tombstoneTtlMs?: number;
  /** what saturates the node while it is near its limit (new sessions are refused, 503
   *  node-busy), undefined while it takes sessions (the load guard, src/node/process/load-guard.ts) */
  busy?: () => { line: "loop" | "cpu" | "lag"; figures: string } | undefined;
  /** a session was admitted (the guard counts its load as unmeasured until its media has run a
   *  while, or it ended) */
  admitted?: (session: AdmittedSession) => void;
  /** a session was refused because its media could not be set up (e.g. its recording's file) */
  mediaRefused?: () => void;
}

/** the create request's fields that only one profile reads */
const BRIDGE_FIELDS = ["bridgeUrl", "bridgeRecord", "bridgeProtocol", "bridgeRate", "bridgeParams"] as const;

/** An option the request's profile would ignore, or the bridge profile without its URL (the
 *  session would connect and then time out with nothing to dial): 400, with what to change. */
function optionProblem(req: CreateSessionRequest): { code: string; reason: string } | undefined {
  if (req.profile === "bridge" && !req.bridgeUrl)
    return {
      code: "bad-bridge-url",
      reason: "the bridge profile needs bridgeUrl: the application's ws:// or wss:// URL",
    };
  if (req.recordRate !== undefined && req.profile !== "record")
    return {
      code: "bad-request",
      reason: `recordRate applies to the record profile only, not ${req.profile} (leave it out)`,
    };
  if (req.profile !== "bridge")
    for (const f of BRIDGE_FIELDS)
      if (req[f] !== undefined)
        return {
          code: "bad-request",
          reason: `${f} applies to the bridge profile only, not ${req.profile} (leave it out)`,
        };
  return undefined;
}

/** the 503 node-busy message, by what the load guard saw */
const BUSY_REASONS = {
  loop: "this media node's event loop is saturated",
  cpu: "this media node's CPU is saturated",
  lag: "this media node's event loop is lagging",
} as const;

export class SessionTable {
  private readonly sessions = new Map<string, PeerSession>();
  /** WHEP listeners by source session id */
  private readonly listeners = new Map<string, Set<string>>();
  private readonly records: SessionRecordSync;
  private readonly watchdog: Watchdog;
  private draining = false;
  private readonly startedAt = Date.now();
  private readonly emptied = new Set<() => void>();
  private readonly answers = new TurnQueue();

  constructor(private readonly o: SessionTableOptions) {
    this.records = new SessionRecordSync(o.registry, o.sessionTtlMs, o.tombstoneTtlMs, (id) => {
      const s = this.sessions.get(id);
      if (s && !s.isClosing) void this.teardown(s, "ended-elsewhere");
    });
    this.watchdog = new Watchdog(
      o.timeouts,
      () => this.sessions.values(),
      (s, reason) => this.reap(s, reason),
    );
  }

  get size(): number {
    return this.sessions.size;
  }

  /** the live bridged sessions' audio lost so far (the per-direction overload counter's scrape) */
  *bridgeLosses(): Iterable<BridgeLossSource> {
    for (const s of this.sessions.values())
      if (s.media?.agent) yield { id: s.id, lost: s.mediaStats()?.bridge?.audioLostMs };
  }

  get isDraining(): boolean {
    return this.draining;
  }

  byState(): Record<string, number> {
    const r: Record<string, number> = {
      new: 0,
      connecting: 0,
      connected: 0,
      disconnected: 0,
      failed: 0,
      interrupted: 0,
    };
    for (const s of this.sessions.values()) {
      const state = s.interruptedAt !== undefined ? "interrupted" : (carriedBy(s) ?? s).state;
      r[state] = (r[state] ?? 0) + 1;
    }
    return r;
  }

  health(): NodeHealth {
    return {
      nodeId: this.o.nodeId,
      load: this.sessions.size,
      capacity: this.o.capacity,
      draining: this.draining,
      uptimeS: Math.round((Date.now() - this.startedAt) / 1000),
    };
  }

  /** Offer → answer. Offers are answered one per event-loop turn, in arrival order (TurnQueue):
   *  each answer leaves as soon as it exists, and running sessions' packets are read between. */
  create(req: CreateSessionRequest): Promise<{ answer: string; etag: string }> {
    return this.answers.run(() => this.answerOffer(req));
  }

  /** Resume: a new peer under a running session (see resume.ts); queued with the offers. */
  resume(id: string, req: ResumeSessionRequest): Promise<{ answer: string; etag: string }> {
    return this.answers.run(() => this.answerResume(id, req));
  }

  private async answerResume(
    id: string,
    req: ResumeSessionRequest,
  ): Promise<{ answer: string; etag: string }> {
    const current = this.sessions.get(id);
    if (!current) throw new SessionNotFoundError(id);
    if (current.isClosing) throw new SessionGoneError(id, current.closeReason ?? "it is closing");
    const log = current.log;
    let offer: ReturnType<typeof validateOffer>;
    try {
      offer = validateOffer(req.offer, current.kind);
      checkResumeOffer(offer, current);
    } catch (e) {
      if (e instanceof OfferError) this.refuse(log, e, "resume refused");
      throw e;
    }
    const next = new PeerSession({
      id,
      kind: current.kind,
      profile: current.profile,
      offer,
      ...this.peerOptions(req.etag),
      log,
      continues: current,
      onFirstRtp: (ps) => onResumedFirstRtp(ps, ps.log),
    });
    const replaced = handOver(current, next, this.o.metrics);
    this.sessions.set(id, next);
    try {
      const answer = await next.answer();
      log.info({ resumes: next.resumes, codec: offer.codec.name }, "resume answered");
      // a resume that never connected gives way to this one at once
      if (replaced) {
        replaced.retire();
        void replaced.close("superseded");
      }
      return { answer, etag: next.etag };
    } catch (e) {
      // the session goes on as it was: the peer that carried it carries it still
      undoHandOver(next, replaced);
      if (this.sessions.get(id) === next) this.sessions.set(id, current);
      void next.close("error");
      // an offer libdatachannel refused (peer-session.ts answer()) is the client's: a refusal
      if (e instanceof OfferError) throw this.refuse(log, e, "resume refused");
      log.error({ err: (e as Error).message }, "could not answer the resume");
      throw OfferError.malformed(`the resume offer could not be applied: ${(e as Error).message}`);
    }
  }

  private get resumeWindowMs(): number {
    return this.o.timeouts.resumeWindowMs ?? 0;
  }

  private async answerOffer(req: CreateSessionRequest): Promise<{ answer: string; etag: string }> {
    // checked when the offer's turn comes: the sessions answered before it count
    if (this.draining)
      throw new NodeUnavailableError("draining", 503, "this media node is draining; try another node");
    if (this.sessions.size >= this.o.capacity)
      throw new NodeUnavailableError(
        "node-full",
        503,
        `this media node is full (${this.o.capacity} sessions)`,
      );
    const busy = this.o.busy?.();
    if (busy)
      throw new NodeUnavailableError(
        "node-busy",
        503,
        `${BUSY_REASONS[busy.line]} (${busy.figures}); try another node (or again shortly)`,
      );
    if (this.sessions.has(req.sessionId)) throw new SessionExistsError(req.sessionId);
    const log = sessionLogger(this.o.log, req.sessionId, { kind: req.kind, profile: req.profile });
    // an option the profile would ignore is refused, never answered 201 for what will not happen
    const problem = optionProblem(req);
    if (problem) {
      throw this.refuse(log, new MediaNodeError(problem.code, 400, problem.reason));
    }

    let offer: ReturnType<typeof validateOffer>;
    try {
      offer = validateOffer(req.offer, req.kind);
    } catch (e) {
      if (e instanceof OfferError) this.refuse(log, e, "offer refused");
      throw e;
    }
    // the bridge URL is the client's choice: dial only what the operator allowed (SSRF guard), and
    // exactly the URL that was checked (the normalized one)
    let bridgeUrl: string | undefined;
    if (req.profile === "bridge" && req.bridgeUrl) {
      const v = checkBridgeUrl(req.bridgeUrl, this.o.bridgeAllow ?? []);
      if (!v.ok) {
        const e = new MediaNodeError(
          v.status === 403 ? "bridge-url-not-allowed" : "bad-bridge-url",
          v.status,
          v.reason,
        );
        throw this.refuse(log, e, "bridge refused");
      }
      bridgeUrl = v.url;
    }
    let source: PeerSession | undefined;
    if (req.kind === "whep") {
      if (!req.sourceSessionId) throw OfferError.unsupported("a WHEP listener needs a source session");
      source = this.sessions.get(req.sourceSessionId);
      if (!source || source.isClosing) throw new SourceNotFoundError(req.sourceSessionId);
      if (source.kind === "whep") throw this.refuse(log, new SourceIsListenerError(req.sourceSessionId));
      // offers take their turn one at a time (TurnQueue), and a listener joins its source's set
      // within its turn: the count here is exact
      const max = this.o.maxListeners;
      const has = this.listeners.get(source.id)?.size ?? 0;
      if (max !== undefined && has >= max)
        throw this.refuse(log, new TooManyListenersError(source.id, has, max));
      // The listener's codec is free (its audio is re-encoded from the source's decoded audio),
      // unless the source decodes nothing: then its packets are relayed as they are, and only its
      // own codec can carry them — taken when the listener offers it, else refused.
      const sent = source.offer.codec.name;
      if (relaysPacketsAsIs(source) && offer.codec.name !== sent) {
        offer = validateOffer(req.offer, req.kind, sent);
        if (offer.codec.name !== sent) {
          throw this.refuse(
            log,
            OfferError.unsupported(
              `the source (profile ${source.profile}) decodes nothing: its ${sent} packets are relayed as they are, so the listener's offer must accept ${sent} (it has no ${sent})`,
            ),
          );
        }
      }
    }

    const session = new PeerSession({
      id: req.sessionId,
      kind: req.kind,
      profile: req.profile,
      offer,
      ...this.peerOptions(req.etag),
      log,
    });
    this.sessions.set(session.id, session);
    this.o.admitted?.({
      started: () => session.connectedAt !== undefined,
      // a session waiting for a resume runs no media either (a stream of calls that hang up
      // without a DELETE would otherwise be charged for their whole resume window)
      ended: () =>
        session.isClosing || session.interruptedAt !== undefined || this.sessions.get(session.id) !== session,
    });
    try {
      // the profile's assembly is in place before any packet can arrive; one that cannot be
      // built refuses the session (503 media-unavailable), never a session without its media
      session.attachMedia(await this.assembleMedia(session, req, bridgeUrl));
      const answer = await session.answer();
      if (source) this.listen(source, session);
      log.info({ codec: offer.codec.name, direction: offer.answerDirection }, "session answered");
      return { answer, etag: session.etag };
    } catch (e) {
      // an offer libdatachannel refused (peer-session.ts answer()) is the client's, refused like
      // validateOffer's: at info, in offers refused — not a teardown of ours with reason error
      if (e instanceof OfferError) this.refuse(log, e, "offer refused");
      await this.teardown(session, e instanceof OfferError ? "refused" : "error");
      if (e instanceof MediaNodeError) throw e;
      log.error({ err: (e as Error).message }, "could not answer the offer");
      throw OfferError.malformed(`the offer could not be applied: ${(e as Error).message}`);
    }
  }

  /** PATCH: trickled candidates (204) — an ICE restart is refused (422, RFC 9725 §4.4.1.2). */
  patch(id: string, sdpfrag: string): void {
    const s = this.get(id);
    const frag = parseSdpFrag(sdpfrag);
    if (s.addRemoteCandidates(frag) === "restart") throw new RestartUnsupportedError();
    s.log.debug({ candidates: frag.candidates.length }, "remote candidates added");
  }

  async remove(id: string): Promise<void> {
    const s = this.sessions.get(id);
    if (s) await this.teardown(s, "client");
  }

  /** A request refused for the client's doing: counted in offers refused and logged at info
   *  (not an error of ours); returned for the caller to throw. */
  private refuse<E extends MediaNodeError>(log: Logger, e: E, what = "offer refused"): E {
    this.o.metrics.refused.inc({ reason: e.code });
    log.info({ reason: e.reason, status: e.status }, what);
    return e;
  }

  status(id: string): SessionStatus {
    const s = this.get(id);
    const { bridge, recordingError, ...media }: SessionMediaStats = s.mediaStats() ?? ZERO_STATS;
    const files = s.media?.recordingFiles() ?? recordedFiles(s.recording);
    const interrupted = s.interruptedAt !== undefined;
    // a resume pending over a live peer: the session is that peer's call until the new one connects
    const on = carriedBy(s) ?? s;
    const rtt = on.rttMs();
    return {
      sessionId: s.id,
      kind: s.kind,
      profile: s.profile,
      state: interrupted ? "interrupted" : on.state,
      createdAt: s.createdAt,
      ...(s.connectedAt ? { connectedAt: s.connectedAt } : {}),
      ...(interrupted
        ? {
            interruptedAt: s.interruptedAt,
            resumeBy: resumeDeadline(s, this.resumeTimes),
            interruptedBy: s.interruptedBy,
          }
        : {}),
      ...(on.resumes > 0 ? { resumes: on.resumes } : {}),
      stats: {
        ...s.counters,
        ...media,
        ...(rtt !== undefined ? { rttMs: rtt } : {}),
      },
      ...(bridge ? { bridge } : {}),
      ...(recordingError ? { recordingError } : {}),
      // the files it records into, from its start (not only once closed: the status is a live
      // session's), and where they land in the bucket
      ...(files ? { recording: files } : {}),
      ...(files && this.o.uploader
        ? { objects: recordingObjects(this.o.uploader.bucket, this.o.recordingsPrefix ?? "", files) }
        : {}),
    };
  }

  /** what every peer of this node is built with: a new session's and a resume's alike */
  private peerOptions(etag: string | undefined) {
    return {
      rtcConfig: this.o.rtcConfig,
      ...(this.o.announcedAddress ? { announcedAddress: this.o.announcedAddress } : {}),
      gatherTimeoutMs: Math.min(3_000, this.o.timeouts.connectMs),
      ...(etag ? { etag } : {}),
      onState: (s: PeerState, ps: PeerSession) => this.onState(s, ps),
      onRtpWhileInterrupted: (ps: PeerSession) => this.onRtpWhileInterrupted(ps),
      // every packet counted; one that comes in while the media clock is due runs the clock's
      // slice in this loop turn, not a wake-up of its own (src/node/process/ticker.ts)
      onPacket: (d: Parameters<NodeMetrics["packet"]>[0]) => {
        this.o.metrics.packet(d);
        if (d === "in") this.o.ticker.poke();
      },
    };
  }

  ids(): string[] {
    return [...this.sessions.keys()];
  }

  /** heartbeat: extend every live session record's life (and write lost ones again) */
  touchAll(): Promise<void> {
    const live = [...this.sessions.values()].filter((s) => !s.isClosing);
    return Promise.all(
      live.map((s) =>
        // (an interrupted session's record says "disconnected", whatever its peer's state)
        this.records.touch(s.id, s.log, this.recordState(s)),
      ),
    ).then(() => {});
  }

  /** the record's state for a live session: an interrupted one's says "disconnected" (whatever its
   *  peer's state), one whose resume is pending over a live peer says that peer's */
  private recordState(s: PeerSession): SessionState | undefined {
    if (s.interruptedAt !== undefined) return "disconnected";
    const state = (carriedBy(s) ?? s).state;
    return state === "failed" ? undefined : state;
  }

  /** SIGTERM: refuse new sessions, wait for the current ones up to graceMs, close the rest. */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    if (this.sessions.size > 0) {
      this.o.log.info({ sessions: this.sessions.size, graceMs }, "draining");
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.emptied.delete(done);
          resolve();
        };
        const timer = setTimeout(done, graceMs);
        this.emptied.add(done);
      });
    }
    await this.closeAll("drain");
  }

  async closeAll(reason: TeardownReason): Promise<void> {
    this.draining = true;
    await Promise.all([...this.sessions.values()].map((s) => this.teardown(s, reason)));
  }

  /** before the process exits: the session ends the registry has not taken yet, tried again for
   *  up to `ms` (SessionRecordSync.flushEnds); returns the ids left */
  flushEnds(ms: number): Promise<string[]> {
    return this.records.flushEnds(ms);
  }

  stop() {
    this.watchdog.stop();
  }

  private get(id: string): PeerSession {
    const s = this.sessions.get(id);
    if (!s || s.isClosing) throw new SessionNotFoundError(id);
    return s;
  }

  private async assembleMedia(
    session: PeerSession,
    req: CreateSessionRequest,
    /** the allow-listed, normalized bridge URL (the one that was checked) */
    bridgeUrl: string | undefined,
  ): Promise<SessionMedia> {
    try {
      return await SessionMedia.assemble({
        sessionId: session.id,
        profile: req.profile,
        codec: session.offer.codec,
        receives: session.receives,
        ...(session.out ? { out: session.out } : {}),
        log: session.log,
        ticker: this.o.ticker,
        recordingsDir: this.o.recordingsDir,
        ...(this.o.echoComplexity !== undefined ? { echoComplexity: this.o.echoComplexity } : {}),
        ...(req.recordRate ? { recordRate: req.recordRate } : {}),
        ...(bridgeUrl ? { bridge: this.bridgeContext(session, req, bridgeUrl) } : {}),
        ...(bridgeUrl && req.bridgeRecord ? { bridgeRecord: true } : {}),
      });
    } catch (e) {
      const reason =
        e instanceof MediaAssemblyError
          ? e.reason
          : `the session's media could not be set up: ${(e as Error).message}`;
      const err = new NodeUnavailableError("media-unavailable", 503, reason);
      this.o.metrics.refused.inc({ reason: err.code });
      session.log.error({ reason, status: err.status }, "session refused: its media cannot be assembled");
      this.o.mediaRefused?.();
      throw err;
    }
  }

  /** what the bridge's agent leg needs from the node: its URL and options, and a way to end the call */
  private bridgeContext(session: PeerSession, req: CreateSessionRequest, url: string): BridgeContext {
    return {
      url,
      protocol: req.bridgeProtocol ?? "rtcgw",
      rate: req.bridgeRate ?? 16000,
      params: req.bridgeParams ?? {},
      ...(this.o.bridgeSecret ? { secret: this.o.bridgeSecret } : {}),
      ...(this.o.bridgeReconnectMs !== undefined ? { reconnectMs: this.o.bridgeReconnectMs } : {}),
      // the agent hung up, or is gone for good: the call ends with it
      end: (reason: string, by: "agent-hangup" | "agent-gone") => {
        session.log.info({ reason }, "the bridge leg ended the call");
        void this.teardown(session, by);
      },
      sendText: (text: string) => session.sendText(text),
    };
  }

  private listen(source: PeerSession, listener: PeerSession) {
    const stop = feedListener(source, {
      sessionId: listener.id,
      codec: listener.offer.codec,
      out: listener.out!,
    });
    const set = this.listeners.get(source.id) ?? new Set<string>();
    this.listeners.set(source.id, set);
    set.add(listener.id);
    this.onTeardown.set(listener.id, () => {
      stop();
      set.delete(listener.id);
    });
  }

  private readonly onTeardown = new Map<string, () => void>();

  private get resumeTimes() {
    return {
      windowMs: this.resumeWindowMs,
      connectMs: this.o.timeouts.connectMs,
      mediaMs: this.o.timeouts.mediaMs,
    };
  }

  /** An interruption: kept for a resume when the window allows (true), else the caller ends it. */
  private interrupted(ps: PeerSession, cause: string): boolean {
    if (this.resumeWindowMs <= 0) return false;
    if (interrupt(ps, cause, this.o.metrics, this.resumeWindowMs))
      void this.records.setState(ps.id, "disconnected", ps.log);
    return true;
  }

  private onState(s: PeerState, ps: PeerSession) {
    const entry = this.sessions.get(ps.id);
    if (entry !== ps) {
      // the old peer of a pending resume still carries the call: its state is the session's
      if (entry?.predecessor === ps) return this.onCarrierState(s, entry, ps);
      // a peer that no longer carries its session (replaced by a resume): only its own log line
      ps.log.debug({ peer: s }, "replaced peer state");
      return;
    }
    if (s === "connecting") {
      // set by answer(): "session answered" already says so at info. The record's move waits
      // until the answer has gone out: a registry round trip or two (and a version conflict with
      // the signaling's ETag write) that neither this client nor the offers queued behind it on
      // this loop need to wait for. A later state writes its own.
      ps.log.debug({ state: s }, "session state");
      // (a resume's new peer over a live one leaves the record alone: the call is still connected)
      this.answers.whenIdle(() => {
        if (ps.state === "connecting" && !ps.isClosing && !carriedBy(ps))
          void this.records.setState(ps.id, s, ps.log);
      });
      return;
    }
    ps.log.info({ state: s }, "session state");
    // the new peer of a resume over a live call failed or was closed before it connected: the
    // resume is over, not the call (its old peer carries it)
    if ((s === "failed" || s === "closed") && carriedBy(ps)) return this.abandonResume(ps);
    if (s === "connected" && ps.answeredAt && ps.peerConnectedAt)
      this.o.metrics.connectSeconds.observe((ps.peerConnectedAt - ps.answeredAt) / 1000);
    if (s === "connected" && (ps.interruptedAt !== undefined || ps.predecessor))
      void completeResume(ps, this.o.metrics);
    if (s === "failed") {
      if (!this.interrupted(ps, "failed")) void this.teardown(ps, "failed");
      return;
    }
    if (s === "closed") {
      if (!ps.isClosing && !this.interrupted(ps, "closed")) void this.teardown(ps, "peer-closed");
      return;
    }
    if (s === "disconnected" && this.interrupted(ps, "disconnected")) return;
    void this.records.setState(ps.id, s, ps.log);
  }

  /** The watchdog's verdict: a silent or disconnected peer interrupts a session that can be
   *  resumed (it waits for a resume); anything else ends it. A short silence ("silent") only
   *  ever interrupts (the watchdog finds it only when there is a window). */
  private reap(s: PeerSession, verdict: WatchdogVerdict) {
    if (verdict === "resume-abandoned") return this.abandonResume(s);
    // the verdict is on the old peer that carries the call: the session is interrupted, and the
    // pending resume gets the window (resumeDeadline) — never the end of a call with a resume coming
    const old = carriedBy(s);
    if (old) return this.carrierLost(s, old, verdict);
    if (verdict === "silent") {
      this.interrupted(s, "silent");
      return;
    }
    if ((verdict === "media-timeout" || verdict === "disconnect-timeout") && this.interrupted(s, verdict))
      return;
    void this.teardown(s, verdict);
  }

  /** RTP while interrupted: a peer that had only gone silent is back, its session connected again */
  private onRtpWhileInterrupted(ps: PeerSession) {
    const entry = this.sessions.get(ps.id);
    if (entry === ps) {
      if (recoverFromSilence(ps, this.o.metrics)) void this.records.setState(ps.id, "connected", ps.log);
      return;
    }
    // the old peer of a pending resume, silent, is sending again: the call goes on on it
    if (entry?.predecessor !== ps || !recoverFromSilence(ps, this.o.metrics)) return;
    carrierBack(entry, ps);
    void this.records.setState(ps.id, "connected", ps.log);
  }

  /** A state of the old peer of a pending resume (carriedBy, or interrupted with it). */
  private onCarrierState(s: PeerState, entry: PeerSession, old: PeerSession) {
    old.log.info({ state: s }, "the old peer's state (a resume is pending)");
    if (s === "connected") {
      // back (ICE recovered): the session is no longer interrupted, the call goes on on it
      if (old.isClosing || (old.interruptedAt === undefined && entry.interruptedAt === undefined)) return;
      carrierBack(entry, old);
      void this.records.setState(entry.id, "connected", entry.log);
      return;
    }
    if (s === "disconnected" || s === "failed" || s === "closed") this.carrierLost(entry, old, s);
  }

  /** The old peer of a pending resume is lost or silent: the session is interrupted (whatever the
   *  window: the pending resume gets at least its connect timeout, resumeDeadline). */
  private carrierLost(entry: PeerSession, old: PeerSession, cause: string) {
    if (old.isClosing || entry.isClosing) return;
    if (interruptCarrier(entry, old, cause, this.o.metrics, this.resumeWindowMs))
      void this.records.setState(entry.id, "disconnected", entry.log);
  }

  /** The watchdog's "resume-abandoned": the new peer of a resume over a live call did not connect
   *  within the connect timeout. It is dropped; the call goes on on its old peer as before the
   *  resume (the record's ETag back to that peer's). */
  private abandonResume(next: PeerSession) {
    const old = abandonResume(next, this.o.metrics);
    if (this.sessions.get(next.id) === next) this.sessions.set(next.id, old);
    next.log.warn(
      { event: "resume_abandoned", answeredMsAgo: Date.now() - (next.answeredAt ?? Date.now()) },
      "resume abandoned: its new peer did not connect; the call goes on on its old peer",
    );
    void next.close("resume-abandoned");
    void this.records.setState(old.id, this.recordState(old) ?? "connected", old.log, { etag: old.etag });
  }

  private async teardown(s: PeerSession, reason: TeardownReason): Promise<void> {
    if (s.isClosing) return s.close(reason);
    // an offer refused is counted as one (answerOffer), not as a teardown
    if (reason !== "refused") this.o.metrics.teardowns.inc({ reason });
    if (GHOST_REASONS.has(reason)) {
      this.o.metrics.ghosts.inc();
      s.log.warn({ reason, state: s.state }, "watchdog: tearing the session down");
    } else {
      s.log.info({ reason }, "tearing the session down");
    }
    this.onTeardown.get(s.id)?.();
    this.onTeardown.delete(s.id);
    // a source's listeners end with it
    const ls = this.listeners.get(s.id);
    this.listeners.delete(s.id);
    const closing = [s.close(reason)];
    // a resume in flight: the peer that carried the session before it ends too
    const carried = s.predecessor;
    s.predecessor = undefined;
    if (carried) {
      carried.retire();
      closing.push(carried.close(reason));
    }
    for (const lid of ls ?? []) {
      const l = this.sessions.get(lid);
      if (l) closing.push(this.teardown(l, "source-ended"));
    }
    // the record goes now, not after the close's bounded wait for libdatachannel's callbacks
    // (up to 2 s): from this moment the session is over for everyone asking the registry
    const removed = this.records.end(s.id, reason, s.log);
    await Promise.all(closing);
    const files = [s.recording?.wav, s.recording?.ogg].filter((f): f is string => !!f);
    if (this.o.uploader && files.length > 0) this.o.uploader.enqueue(s.id, files, s.log);
    const m = s.mediaStats();
    if (m) {
      if (m.concealedMs) this.o.metrics.concealedSeconds.inc(m.concealedMs / 1000);
      if (m.silenceFilledMs) this.o.metrics.silenceFilledSeconds.inc(m.silenceFilledMs / 1000);
      if (m.bridge) this.o.metrics.bridgeEnded(m.bridge, s.id);
      if (m.recordingError) this.o.metrics.recordingFailures.inc({ reason: "disk_full" });
    }
    this.sessions.delete(s.id);
    await removed;
    if (this.sessions.size === 0) for (const f of [...this.emptied]) f();
  }
}

/** what a closed session's media returned, in the status' shape */
function recordedFiles(
  r: { wav?: string; ogg?: string } | undefined,
): { wav: string; ogg?: string } | undefined {
  return r?.wav ? { wav: r.wav, ...(r.ogg ? { ogg: r.ogg } : {}) } : undefined;
}
