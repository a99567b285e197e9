// One WebRTC session on the node: a node-datachannel peer, its audio track(s) and datachannels,
// and the media assembly its profile asks for. Owns the close pattern of docs/design.md rule 9: every
// track and channel is referenced until its onClosed, tracks close before the peer.
import { randomBytes } from "node:crypto";
import nodeDataChannel, { type DataChannel, type PeerConnection, type Track } from "node-datachannel";
import type { Profile, SessionStatus } from "../../control/contract.js";
import type { Logger } from "../../log/index.js";
import { isRtcp, type MediaSession, type PacketSink, rtcpHasBye, sendsStereo } from "../../media/index.js";
import type { SessionKind } from "../../registry/types.js";
import { TelephoneEvents } from "../bridge/dtmf.js";
import { OfferError, TrickleError } from "./errors.js";
import type { ValidatedOffer } from "./offer.js";
import {
  announceAddress,
  dropEmptyFmtp,
  fragmentUfrag,
  iceUfragOf,
  opusAnswerFmtp,
  type TrickleFragment,
} from "./sdp-rewrite.js";
import type { SessionMedia, SessionMediaStats } from "./session-media.js";

/** the peer's own state ("interrupted" is the session's, see resume.ts) */
export type PeerState = Exclude<SessionStatus["state"], "interrupted">;

export interface PeerSessionOptions {
  id: string;
  kind: SessionKind;
  profile: Profile;
  offer: ValidatedOffer;
  rtcConfig: nodeDataChannel.RtcConfig;
  announcedAddress?: string;
  /** bound on waiting for ICE gathering before answering (non-trickle answer) */
  gatherTimeoutMs: number;
  /** the ETag the signaling recorded for the session; a random one without */
  etag?: string;
  log: Logger;
  /** every state change, in order */
  onState: (s: PeerState, session: PeerSession) => void;
  /** counts for the node's metrics */
  onPacket: (dir: "in" | "out" | "send-failed") => void;
  /** resume: the peer this one replaces — its session (SSRC, outlet, counters, listeners, times)
   *  continues on this peer; see resume.ts */
  continues?: PeerSession;
  /** the first RTP packet this peer received */
  onFirstRtp?: (session: PeerSession) => void;
  /** an RTP packet arrived while the session is interrupted (a silent peer may be back) */
  onRtpWhileInterrupted?: (session: PeerSession) => void;
}

/**
 * Where a session's outgoing RTP goes: its current peer. The pipeline's senders hold the outlet
 * as their PacketSink (echo, bridge, WHEP listener), so a resume points it at the new peer and
 * they follow without being told; our SSRC, sequence and timestamps simply continue.
 */
export class PeerOutlet implements PacketSink {
  constructor(
    public peer: PeerSession,
    readonly ssrc: number,
  ) {}
  send = (rtp: Uint8Array): void => this.peer.sendOnTrack(rtp);
}

const DIRECTION = { sendrecv: "SendRecv", sendonly: "SendOnly", recvonly: "RecvOnly" } as const;
const CLOSE_WAIT_MS = 2_000;
/**
 * After an RTCP BYE, this long without RTP and the peer has left. A BYE can also end one SSRC
 * while another goes on (RFC 3550 §6.6, §8.2): a packet in this window cancels it.
 */
const BYE_GRACE_MS = 500;

export class PeerSession {
  readonly id: string;
  readonly kind: SessionKind;
  readonly profile: Profile;
  readonly offer: ValidatedOffer;
  readonly createdAt: number;
  readonly log: Logger;
  /** our SSRC on the outgoing audio, when we send */
  readonly ssrc: number | undefined;
  /** our outgoing track as the pipeline's PacketSink (undefined when we do not send) */
  readonly out: PacketSink | undefined;
  state: PeerState = "new";
  answeredAt: number | undefined;
  /** the session's first connection (a resumed peer keeps its predecessor's) */
  connectedAt: number | undefined;
  /** this peer's own connection */
  peerConnectedAt: number | undefined;
  /** the session is waiting for a resume since then (peer disconnected, failed, closed, silent) */
  interruptedAt: number | undefined;
  interruptedBy: string | undefined;
  /** how many peers replaced the first one */
  readonly resumes: number;
  /** resume: the last RTP the session received before this peer (for the gap) */
  lastRtpBefore: number | undefined;
  /** resume: the peer that carried the session before this one, closed once this one connects */
  predecessor: PeerSession | undefined;
  firstRtpAt: number | undefined;
  disconnectedAt: number | undefined;
  lastRtpAt: number | undefined;
  /** the last RTCP packet of this peer (a peer that sends RTCP is not silent) */
  lastRtcpAt: number | undefined;
  closeReason: string | undefined;
  etag: string;
  recording: { wav?: string; ogg?: string } | undefined;

  counters = { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 };
  /** packets libdatachannel refused or threw on (not counted in packetsOut) */
  sendFailures = 0;
  /** packets (RTP and RTCP) that arrived on a non-audio track (offered video) and were discarded */
  ignoredPackets = 0;
  private readonly pc: PeerConnection;
  /** every wrapper of every track, kept until its onClosed (docs/design.md rule 9) */
  private readonly tracks = new Set<Track>();
  private sendTrack: Track | undefined;
  private readonly channels = new Set<DataChannel>();
  private sessionMedia: SessionMedia | undefined;
  /** where RTP goes: the pipeline's session, straight (packets before it exists are consumed and dropped) */
  private pipeline: MediaSession | undefined;
  /** the caller's RFC 4733 key presses, when its offer carried telephone-event */
  private dtmf: TelephoneEvents | undefined;
  /** sequence numbers the telephone-event packets took so far */
  private dtmfSeqs = 0;
  private rtpListeners = new Set<(packet: Buffer) => void>();
  private answerSdp: string | undefined;
  private closing: Promise<void> | undefined;
  private peerClosed!: () => void;
  private readonly peerClosedP = new Promise<void>((r) => {
    this.peerClosed = r;
  });

  constructor(private readonly opts: PeerSessionOptions) {
    this.id = opts.id;
    this.kind = opts.kind;
    this.profile = opts.profile;
    this.offer = opts.offer;
    this.log = opts.log;
    this.etag = opts.etag ?? randomBytes(8).toString("hex");
    const prev = opts.continues;
    if (prev) {
      // the session continues: our SSRC and the outlet the senders hold (one outgoing stream),
      // the counters and the WHEP listeners' feed (shared objects), the session's times
      this.ssrc = prev.ssrc;
      this.out = prev.out;
      this.createdAt = prev.createdAt;
      this.connectedAt = prev.connectedAt;
      this.counters = prev.counters;
      this.rtpListeners = prev.rtpListeners;
      this.resumes = prev.resumes + 1;
      // (an interruption goes on; a live session stays live on its old peer: resume.ts handOver)
      this.interruptedAt = prev.interruptedAt;
      this.interruptedBy = prev.interruptedBy;
      this.lastRtpBefore = prev.lastRtpAt ?? prev.lastRtpBefore;
      this.recording = prev.recording;
    } else {
      this.ssrc = opts.offer.answerDirection === "recvonly" ? undefined : randomBytes(4).readUInt32BE(0) || 1;
      this.out = this.ssrc === undefined ? undefined : new PeerOutlet(this, this.ssrc);
      this.createdAt = Date.now();
      this.resumes = 0;
      this.lastRtpBefore = undefined;
    }
    this.pc = new nodeDataChannel.PeerConnection(`s-${opts.id.slice(0, 12)}`, opts.rtcConfig);
    this.pc.onStateChange((s) => this.onPeerState(s));
    // every callback registered costs a native thread-safe function (~65 µs measured here, on
    // the answer's path): this one only feeds a debug line
    if (this.log.isLevelEnabled("debug"))
      this.pc.onIceStateChange((s) => this.log.debug({ ice: s }, "ICE state"));
    // Each callback is also a libuv async handle for the peer's life, and libuv walks every async
    // handle of the loop on each wake-up (uv__async_io: 4–6 % of the main thread at 10–50
    // record calls, issue 18): only the callbacks this offer needs. (onTrack stays even for an
    // audio-only offer: without it a resumed session's new peer lost its audio — test/node/resume —
    // for a reason not found yet; adoptTrack registers nothing on its second audio wrapper.)
    this.pc.onTrack((t) => this.adoptTrack(t, "remote"));
    if (this.offer.dataChannel) this.pc.onDataChannel((dc) => this.adoptChannel(dc));
  }

  /** Offer → answer with our track in place and every host candidate (non-trickle). */
  async answer(): Promise<string> {
    const { offer } = this;
    try {
      this.pc.setRemoteDescription(offer.sdp, "offer");
    } catch (e) {
      // libdatachannel's own reading of an offer validateOffer passed (a fingerprint it cannot
      // parse, …): the client's offer is refused (400), not our failure to answer it
      throw OfferError.malformed(`the offer could not be applied: ${(e as Error).message}`);
    }
    // docs/design.md rule 1: our track exists before the answer, so the answer is sendrecv and carries our SSRC.
    const audio = new nodeDataChannel.Audio(offer.audioMid, DIRECTION[offer.answerDirection]);
    // An offer may carry Opus without an a=fmtp line (aiortc does); libdatachannel needs a profile string.
    if (offer.codec.name === "opus") {
      // our own fmtp, not the offer's echoed (opusAnswerFmtp says why); a caller recorded in
      // stereo (it says sprop-stereo=1: createProfile's record) is told we take stereo
      // (docs/pipeline.md, "Stereo callers")
      audio.addOpusCodec(
        offer.codec.payloadType,
        opusAnswerFmtp(this.profile === "record" && this.receives && sendsStereo(offer.codec)),
      );
    } else audio.addAudioCodec(offer.codec.payloadType, offer.codec.name.toUpperCase());
    // the caller's keypad (RFC 4733), when offered: its packets go to the bridge's agent, not the decoder
    const te = offer.telephoneEvent;
    if (te && this.receives) {
      audio.addAudioCodec(te.payloadType, `telephone-event/${te.clockRate}`, "0-15");
      this.dtmf = new TelephoneEvents(te.payloadType, te.clockRate, (digit, durationMs) => {
        this.log.debug({ digit, durationMs }, "dtmf");
        this.media?.agent?.onCallerDigit(digit, durationMs);
      });
    }
    if (this.ssrc !== undefined) audio.addSSRC(this.ssrc, `rtcgw-${this.id.slice(0, 8)}`, "rtcgw", "audio");
    const track = this.pc.addTrack(audio);
    this.adoptTrack(track, "local");
    if (this.ssrc !== undefined) this.sendTrack = track;
    // Offered video: answered `inactive` (RFC 8829 §5.3.1 keeps the m-line; RFC 3264 §6.1 lets
    // us refuse the stream) so a compliant client sends none. Without a codec to name, or if
    // libdatachannel refuses the track, its own reciprocated answer stays (packets discarded).
    for (const v of offer.ignoredVideo) {
      if (!v.codec) continue;
      try {
        const video = new nodeDataChannel.Video(v.mid, "Inactive");
        // libdatachannel wants a profile string: a codec offered without fmtp (VP8) gets "",
        // whose empty a=fmtp line dropEmptyFmtp removes from the answer
        video.addVideoCodec(v.codec.payloadType, v.codec.name, v.codec.fmtp ?? "");
        this.adoptTrack(this.pc.addTrack(video), "local");
      } catch (e) {
        this.log.debug({ mid: v.mid, err: (e as Error).message }, "video kept as libdatachannel answered it");
      }
    }

    this.pc.setLocalDescription();
    // With the UDP mux and no STUN/TURN server, host candidates are gathered within
    // setLocalDescription: no callback (a native thread-safe function) nor timer is needed then.
    if (this.pc.gatheringState() !== "complete") await this.gathered();
    const local = this.pc.localDescription();
    if (!local) throw new Error("node-datachannel produced no local description");
    this.answerSdp = announceAddress(dropEmptyFmtp(local.sdp), this.opts.announcedAddress);
    this.answeredAt = Date.now();
    this.setState("connecting");
    return this.answerSdp;
  }

  /** Resolves when ICE gathering completes (srflx/relay candidates), or after gatherTimeoutMs. */
  private gathered(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.opts.gatherTimeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.pc.onGatheringStateChange((s) => {
        if (s === "complete") done();
      });
      // it may have completed between the caller's check and the registration above
      if (this.pc.gatheringState() === "complete") done();
    });
  }

  /** Attach the profile's assembly; packets already flowing go to it from now on. */
  attachMedia(media: SessionMedia) {
    this.sessionMedia = media;
    this.pipeline = media.pipeline;
    // attached after the peer connected (a resume's successor carries the connection it had)
    if (this.connectedAt !== undefined) media.peerConnected(this.connectedAt);
  }

  /** WHEP listeners hear a source's packets through this. */
  addRtpListener(fn: (packet: Buffer) => void): () => void {
    this.rtpListeners.add(fn);
    return () => this.rtpListeners.delete(fn);
  }

  /** Send one RTP packet on the session's current peer (see PeerOutlet). */
  send = (rtp: Uint8Array): void => this.out?.send(rtp);

  /** the outlet that carries the session's outgoing RTP (undefined when we do not send) */
  get outlet(): PeerOutlet | undefined {
    return this.out instanceof PeerOutlet ? this.out : undefined;
  }

  /** Send one RTP packet on this peer's track (no-op until the track is open or after close). */
  sendOnTrack(rtp: Uint8Array): void {
    const t = this.sendTrack;
    if (!t || this.closing || !t.isOpen()) return;
    try {
      const buf = Buffer.isBuffer(rtp) ? rtp : Buffer.from(rtp.buffer, rtp.byteOffset, rtp.byteLength);
      // false: libdatachannel did not take the packet (transport not ready, or its buffer full)
      if (t.sendMessageBinary(buf)) {
        this.counters.packetsOut++;
        this.counters.bytesOut += rtp.byteLength;
        this.opts.onPacket("out");
      } else {
        this.sendFailures++;
        this.opts.onPacket("send-failed");
      }
    } catch (e) {
      this.sendFailures++;
      this.opts.onPacket("send-failed");
      this.log.debug({ err: (e as Error).message }, "send failed");
    }
  }

  /**
   * Resume: this peer's session moved to a new peer. Hand over nothing more — the media, the
   * listeners and the counters now belong to the successor — so that close() ends only this
   * peer's transport (the recording, the bridge socket and the listeners go on).
   */
  retire(): void {
    this.sessionMedia = undefined;
    this.pipeline = undefined;
    this.rtpListeners = new Set();
    this.counters = { ...this.counters };
  }

  get sends(): boolean {
    return this.ssrc !== undefined;
  }

  get receives(): boolean {
    return this.offer.answerDirection !== "sendonly";
  }

  /** RFC 8840 trickle: remote candidates from a PATCH. A new ufrag means an ICE restart. */
  addRemoteCandidates(frag: TrickleFragment): "trickle" | "restart" {
    const ufrag = fragmentUfrag(frag);
    if (ufrag && ufrag !== this.offer.iceUfrag) return "restart";
    for (const c of frag.candidates) {
      const mid = c.mid ?? this.offer.audioMid;
      try {
        this.pc.addRemoteCandidate(c.candidate, mid);
      } catch (e) {
        throw new TrickleError(`candidate refused: ${(e as Error).message}`);
      }
    }
    return "trickle";
  }

  get localUfrag(): string | undefined {
    return this.answerSdp ? iceUfragOf(this.answerSdp) : undefined;
  }

  get media(): SessionMedia | undefined {
    return this.sessionMedia;
  }

  mediaStats(): SessionMediaStats | undefined {
    return this.sessionMedia?.stats();
  }

  rttMs(): number | undefined {
    try {
      const r = this.pc.rtt();
      return r > 0 ? r : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Idempotent teardown: media first (flush recordings), then channels and tracks, then the peer.
   * References are held until each onClosed fired (bounded wait), so nothing is collected under
   * libdatachannel's feet.
   */
  close(reason: string): Promise<void> {
    this.closing ??= this.doClose(reason);
    return this.closing;
  }

  get isClosing(): boolean {
    return this.closing !== undefined;
  }

  private async doClose(reason: string) {
    this.closeReason = reason;
    if (this.byeTimer) clearTimeout(this.byeTimer);
    this.pipeline = undefined;
    this.rtpListeners.clear();
    if (this.sessionMedia) {
      try {
        this.recording = await this.sessionMedia.close();
      } catch (e) {
        this.log.error({ err: (e as Error).message }, "media close failed");
      }
    }
    const waits: Promise<void>[] = [];
    for (const dc of this.channels) {
      waits.push(this.closed(dc));
      try {
        dc.close();
      } catch {}
    }
    for (const t of this.tracks) {
      waits.push(this.closed(t));
      try {
        t.close();
      } catch {}
    }
    try {
      this.pc.close();
    } catch {}
    waits.push(this.peerClosedP);
    await Promise.race([Promise.all(waits), new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
    this.channels.clear();
    this.tracks.clear();
    this.sendTrack = undefined;
    this.setState("closed");
    this.log.info({ reason, ...this.counters }, "session closed");
  }

  /** Track wrappers of one mid share one native track whose onClosed callback only the last
   *  wrapper receives, so tracks are polled (isClosed) and channels wait for their onClosed. */
  private closed(x: Track | DataChannel): Promise<void> {
    if ("isClosed" in x) {
      const t = x;
      return new Promise((resolve) => {
        const poll = () => (t.isClosed() ? resolve() : setTimeout(poll, 10).unref());
        poll();
      });
    }
    return new Promise((r) => x.onClosed(() => r()));
  }

  private byeTimer: NodeJS.Timeout | undefined;

  private onBye() {
    if (this.closing || this.byeTimer) return;
    this.log.debug("RTCP BYE received");
    this.byeTimer = setTimeout(() => {
      this.byeTimer = undefined;
      if (this.closing) return;
      this.log.info("the peer sent RTCP BYE and no media since: it has left");
      this.setState("closed");
    }, BYE_GRACE_MS);
    this.byeTimer.unref();
  }

  private onPeerState(s: string) {
    this.log.debug({ peer: s }, "peer state");
    if (s === "closed") this.peerClosed();
    if (this.closing) return;
    if (s === "connected") {
      this.peerConnectedAt ??= Date.now();
      // the session's first connection begins the call (a resumed session's began on its first peer)
      if (this.connectedAt === undefined) this.sessionMedia?.peerConnected(this.peerConnectedAt);
      this.connectedAt ??= this.peerConnectedAt;
      this.disconnectedAt = undefined;
      this.setState("connected");
    } else if (s === "disconnected") {
      this.disconnectedAt ??= Date.now();
      this.setState("disconnected");
    } else if (s === "failed") {
      this.disconnectedAt ??= Date.now();
      this.setState("failed");
    } else if (s === "closed") {
      this.setState("closed");
    }
  }

  private setState(s: PeerState) {
    if (this.state === s || this.state === "closed") return;
    this.state = s;
    this.opts.onState(s, this);
  }

  /** docs/design.md rule 2: an incoming track is consumed from the moment it exists. A track of another mid
   *  (an offered video m-line, answered by libdatachannel) is kept too (docs/design.md rule 9) and its packets
   *  fall into a black hole: only the audio mid reaches the media assembly. */
  /** the audio mid's callbacks are registered (on the first of its track wrappers) */
  private audioAdopted = false;

  private adoptTrack(t: Track, origin: "local" | "remote") {
    this.tracks.add(t);
    let mid: string | undefined;
    try {
      mid = t.mid();
    } catch {}
    if (mid !== undefined && mid !== this.offer.audioMid) {
      t.onMessage(() => {
        this.ignoredPackets++;
      });
      t.onError((e) => this.log.debug({ err: e, mid }, "ignored track error"));
      t.onClosed(() => this.log.debug({ mid }, "ignored track closed"));
      this.log.debug({ mid, type: t.type(), direction: t.direction() }, "non-audio track: packets discarded");
      return;
    }
    // a second wrapper of the audio track (onTrack after addTrack, with video offered): the
    // first one's callbacks already get its messages; kept in `tracks` for the close only
    if (this.audioAdopted) return;
    this.audioAdopted = true;
    t.onMessage((b) => this.onTrackMessage(b));
    t.onError((e) => this.log.warn({ err: e, origin }, "track error"));
    t.onClosed(() => {
      // keep the wrapper until the peer is gone; drop it then (see doClose)
      this.log.debug({ origin }, "track closed");
    });
  }

  private onTrackMessage(b: Buffer) {
    if (isRtcp(b)) {
      this.lastRtcpAt = Date.now();
      // RTCP BYE (aiortc and browsers send one when their sender stops): the peer is leaving,
      // and its DTLS close_notify may never come (the 30 s of ICE consent expiry otherwise)
      if (rtcpHasBye(b)) this.onBye();
      return;
    }
    if (this.byeTimer) {
      clearTimeout(this.byeTimer);
      this.byeTimer = undefined;
    }
    const now = Date.now();
    this.lastRtpAt = now;
    if (this.firstRtpAt === undefined) {
      this.firstRtpAt = now;
      this.opts.onFirstRtp?.(this);
    }
    if (this.interruptedAt !== undefined) this.opts.onRtpWhileInterrupted?.(this);
    this.counters.packetsIn++;
    this.counters.bytesIn += b.length;
    this.opts.onPacket("in");
    if (this.dtmf) {
      if (b.length >= 12 && (b[1]! & 0x7f) === this.dtmf.payloadType) {
        this.dtmf.push(b);
        this.dtmfSeqs++;
        return;
      }
      // the events took sequence numbers of the audio stream (one SSRC, RFC 4733 §2.1): the
      // decoder gets the audio renumbered as if they were not there, so it sees no loss
      if (this.dtmfSeqs > 0 && b.length >= 12)
        b.writeUInt16BE((b.readUInt16BE(2) - this.dtmfSeqs) & 0xffff, 2);
    }
    this.pipeline?.pushRtp(b, now);
    for (const l of this.rtpListeners) l(b);
  }

  /** Text to every open datachannel of the caller; false when none is open (or all refused it). */
  sendText(text: string): boolean {
    let sent = false;
    for (const dc of this.channels) {
      try {
        if (dc.isOpen() && dc.sendMessage(text)) sent = true;
      } catch (e) {
        this.log.debug({ err: (e as Error).message }, "datachannel send failed");
      }
    }
    return sent;
  }

  /** Client-created datachannels are accepted: their text goes to a profile that takes it (the
   *  bridge's agent), everything else is echoed. */
  private adoptChannel(dc: DataChannel) {
    if (this.closing) {
      try {
        dc.close();
      } catch {}
      return;
    }
    this.channels.add(dc);
    const label = dc.getLabel();
    dc.onMessage((m) => {
      try {
        const onText = this.media?.onText;
        if (onText && typeof m === "string") onText(m);
        else if (typeof m === "string") dc.sendMessage(m);
        else dc.sendMessageBinary(Buffer.isBuffer(m) ? m : Buffer.from(m as ArrayBuffer));
      } catch (e) {
        this.log.debug({ label, err: (e as Error).message }, "datachannel echo failed");
      }
    });
    dc.onError((e) => this.log.warn({ label, err: e }, "datachannel error"));
    dc.onClosed(() => {
      if (!this.closing) this.channels.delete(dc);
    });
    this.log.debug({ label }, "datachannel opened");
  }
}
