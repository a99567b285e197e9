// A WebRTC client peer for tests and the load generator: node-datachannel over loopback, an
// audio track (Opus by default, or PCMU/PCMA), real pre-encoded audio sent at 50 packets/s,
// received RTP decoded back to PCM, datachannels, and a way to vanish without closing (a child
// process killed with SIGKILL: no DTLS alert, no SCTP abort — the server only sees silence).
//
//   const c = await ClientPeer.create({ direction: "sendrecv" });
//   const answer = await postOffer(c.offer);        // through the signaling or the control API
//   await c.accept(answer); await c.connected();     // sending starts when the track opens
//   ... c.stats, c.receivedPcm(), toneRatio(...)
//   await c.close();
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Decoder, Encoder } from "@evan/opus";
import nodeDataChannel, {
  type DataChannel,
  type LocalDescriptionInit,
  type PeerConnection,
  type RtcConfig,
  type Track,
} from "node-datachannel";

export type ClientCodec = "opus" | "pcmu" | "pcma";
export type ClientDirection = "sendrecv" | "sendonly" | "recvonly";

export interface ClientPeerOptions {
  direction?: ClientDirection;
  codec?: ClientCodec;
  /** label of a datachannel to open, or false for none (default "chat") */
  dataChannel?: string | false;
  /** start sending when the track opens (default: yes if the direction sends) */
  autoSend?: boolean;
  /** decode what arrives (default true); "count": decode, count the samples (stats.samplesDecoded)
   *  and keep nothing (the load generator's audio completeness) */
  decode?: boolean | "count";
  toneHz?: number;
  bindAddress?: string;
  /** keep our host candidates in the offer (default false: see create()) */
  offerCandidates?: boolean;
  /** ms to wait for ICE gathering before the offer is taken as is */
  gatherTimeoutMs?: number;
  /** more peer configuration: ICE servers, `iceTransportPolicy: "relay"`, a fixed certificate */
  rtc?: Partial<RtcConfig>;
  /** the offer's ICE ufrag/pwd (with `dataChannel: false`: the peer then makes its offer itself) */
  ice?: LocalDescriptionInit;
  /** the audio SSRC (default random) */
  ssrc?: number;
  /** offer RFC 4733 telephone-event (payload type 101, the codec's clock rate): sendDigit() */
  dtmf?: boolean;
}

export interface ClientStats {
  packetsSent: number;
  /** packets libdatachannel refused (returned false) or threw on */
  sendFailures: number;
  packetsReceived: number;
  bytesReceived: number;
  /** received sequence numbers missing (per SSRC, counted at the end of each run of packets) */
  lostReceived: number;
  /** audio the sender skipped without a sequence gap: RTP timestamps that advanced beyond the
   *  20 ms frames received or lost (DTX, or frames a late sender dropped), in ms */
  skippedReceivedMs: number;
  ssrcs: number[];
  payloadTypes: number[];
  /** samples decoded from what arrived (at the decoder's rate: 48 kHz for Opus) */
  samplesDecoded: number;
}

const PT: Record<ClientCodec, number> = { opus: 111, pcmu: 0, pcma: 8 };
const CLOCK: Record<ClientCodec, number> = { opus: 48000, pcmu: 8000, pcma: 8000 };
/** the payload type a test client offers telephone-event on */
const DTMF_PT = 101;
const FRAME_MS = 20;

// ---------------------------------------------------------------- pre-encoded audio (encode once)

const encodedCache = new Map<string, Buffer[]>();

/** One second (50 × 20 ms) of a sine tone, encoded once and replayed in a loop. An integer
 *  number of cycles per second keeps the loop seamless. */
export function encodedTone(codec: ClientCodec, hz = 440, amplitude = 0.3): Buffer[] {
  const key = `${codec}:${hz}:${amplitude}`;
  const hit = encodedCache.get(key);
  if (hit) return hit;
  const rate = codec === "opus" ? 48000 : 8000;
  const n = (rate * FRAME_MS) / 1000;
  const frames: Buffer[] = [];
  const enc =
    codec === "opus" ? new Encoder({ channels: 1, sample_rate: 48000, application: "voip" }) : undefined;
  for (let f = 0; f < 1000 / FRAME_MS; f++) {
    const pcm = new Int16Array(n);
    for (let i = 0; i < n; i++)
      pcm[i] = Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * hz * (f * n + i)) / rate));
    if (enc) frames.push(Buffer.from(enc.encode(pcm)));
    else frames.push(Buffer.from(pcm.map((s) => (codec === "pcmu" ? linearToUlaw(s) : linearToAlaw(s)))));
  }
  encodedCache.set(key, frames);
  return frames;
}

// G.711 (ITU-T G.711 §A/§u): tiny enough to write here, for PCMU/PCMA clients.
function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  let s = Math.max(-32635, Math.min(32635, sample));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s += BIAS;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; mask >>= 1) exp--;
  const mant = (s >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | mant) & 0xff;
}
function linearToAlaw(sample: number): number {
  let s = Math.max(-32767, Math.min(32767, sample));
  const sign = s >= 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  let out: number;
  if (s < 256) out = s >> 4;
  else {
    let exp = 7;
    for (let mask = 0x4000; (s & mask) === 0 && exp > 1; mask >>= 1) exp--;
    out = (exp << 4) | ((s >> (exp + 3)) & 0x0f);
  }
  return (out | sign) ^ 0x55;
}
function ulawToLinear(u: number): number {
  const x = ~u & 0xff;
  const t = (((x & 0x0f) << 3) + 0x84) << ((x & 0x70) >> 4);
  return x & 0x80 ? 0x84 - t : t - 0x84;
}
function alawToLinear(a: number): number {
  const x = a ^ 0x55;
  let t = (x & 0x0f) << 4;
  const seg = (x & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return x & 0x80 ? t : -t;
}

function rms(pcm: Int16Array): number {
  let e = 0;
  for (let i = 0; i < pcm.length; i++) e += pcm[i]! * pcm[i]!;
  return pcm.length ? Math.sqrt(e / pcm.length) : 0;
}

/** Share of the signal's power at `hz` (Goertzel), 0..1: ~1 for a clean tone at hz. */
export function toneRatio(pcm: Int16Array, rate: number, hz: number): number {
  if (pcm.length === 0) return 0;
  const k = (2 * Math.PI * hz) / rate;
  const coeff = 2 * Math.cos(k);
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (let i = 0; i < pcm.length; i++) {
    const x = pcm[i]! / 32768;
    energy += x * x;
    const s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return energy === 0 ? 0 : Math.min(1, (2 * power) / (pcm.length * energy));
}

// ---------------------------------------------------------------- one shared send clock

type Sender = { start: number; sent: number; sendOne: () => void };
const senders = new Set<Sender>();
/** the clock's next tick is scheduled (one timer for every sender) */
let ticking = false;
/** senders that fell this many frames behind catch up at most this much per tick (no huge bursts) */
const MAX_CATCH_UP = 5;

function clockTick() {
  const now = performance.now();
  for (const s of senders) {
    const due = Math.floor((now - s.start) / FRAME_MS) + 1 - s.sent;
    for (let i = 0; i < Math.min(due, MAX_CATCH_UP); i++) s.sendOne();
    if (due > MAX_CATCH_UP) s.sent += due - MAX_CATCH_UP; // frames skipped: the receiver sees loss
  }
  ticking = senders.size > 0;
  if (ticking) setTimeout(clockTick, 5);
}
function addSender(s: Sender) {
  senders.add(s);
  if (ticking) return;
  ticking = true;
  setTimeout(clockTick, 0);
}

// ---------------------------------------------------------------- the peer

export class ClientPeer {
  offer = "";
  readonly ssrc: number;
  readonly codec: ClientCodec;
  readonly direction: ClientDirection;
  readonly stats: ClientStats = {
    packetsSent: 0,
    sendFailures: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    lostReceived: 0,
    skippedReceivedMs: 0,
    ssrcs: [],
    payloadTypes: [],
    samplesDecoded: 0,
  };
  readonly messages: (string | Buffer)[] = [];
  /** every received RTP packet: arrival (performance.timeOrigin + now, ms), seq, RTP timestamp,
   *  and where its decoded audio starts in receivedPcm() (for per-packet timing in tests) */
  readonly arrivals: Array<{ at: number; seq: number; ts: number; pcmOffset: number }> = [];
  private pcmLength = 0;
  state = "new";
  readonly pc: PeerConnection;
  readonly track: Track;
  channel: DataChannel | undefined;
  private readonly pcm: Int16Array[] = [];
  private decoder: Decoder | undefined;
  private sender: Sender | undefined;
  private sendOrigin: number | undefined;
  /** wall time (ms) the first packet was sent */
  firstSentAt: number | undefined;
  /** wall time (ms) the last packet was sent */
  lastSentAt: number | undefined;
  /** frame index (20 ms each, counted from the first send) of the last packet sent: its RTP
   *  timestamp's position, which a lagging send clock can put behind lastSentAt */
  lastSentFrame: number | undefined;
  /** frame index of the first packet sent (frames due before the track opened are not sent) */
  firstSentFrame: number | undefined;
  /** wall time (ms) the first packet was received */
  firstReceivedAt: number | undefined;
  /** wall time (ms) the first packet that decodes to sound (RMS above ~-36 dBFS) was received */
  firstAudibleAt: number | undefined;
  private seq = randomBytes(2).readUInt16BE(0);
  private readonly tsBase = randomBytes(4).readUInt32BE(0);
  private lastSeq = new Map<number, number>();
  private lastTs = new Map<number, number>();
  private readonly waiters = new Set<() => void>();
  private closedP: Promise<void> | undefined;
  private readonly closedPeer: Promise<void>;
  private peerClosed!: () => void;

  private constructor(private readonly o: ClientPeerOptions) {
    this.ssrc = o.ssrc ?? (randomBytes(4).readUInt32BE(0) || 1);
    this.codec = o.codec ?? "opus";
    this.direction = o.direction ?? "sendrecv";
    this.pc = new nodeDataChannel.PeerConnection(`client-${this.ssrc}`, {
      iceServers: [],
      bindAddress: o.bindAddress ?? "127.0.0.1",
      ...o.rtc,
    });
    this.closedPeer = new Promise<void>((r) => {
      this.peerClosed = r;
    });
    this.pc.onStateChange((s) => {
      this.state = s;
      if (s === "closed") this.peerClosed();
      this.wake();
    });
    const dir = { sendrecv: "SendRecv", sendonly: "SendOnly", recvonly: "RecvOnly" } as const;
    const audio = new nodeDataChannel.Audio("0", dir[this.direction]);
    if (this.codec === "opus") audio.addOpusCodec(PT.opus, "minptime=10;useinbandfec=1");
    else audio.addAudioCodec(PT[this.codec], this.codec.toUpperCase());
    if (o.dtmf) audio.addAudioCodec(DTMF_PT, `telephone-event/${CLOCK[this.codec]}`, "0-15");
    if (this.direction !== "recvonly") audio.addSSRC(this.ssrc, `client-${this.ssrc}`, "client", "audio");
    this.track = this.pc.addTrack(audio);
    this.track.onMessage((b) => this.onRtp(b));
    this.track.onOpen(() => {
      if ((o.autoSend ?? this.direction !== "recvonly") && this.direction !== "recvonly") this.startSending();
      this.wake();
    });
    this.track.onClosed(() => this.wake());
    if (o.dataChannel !== false) {
      this.channel = this.pc.createDataChannel(o.dataChannel ?? "chat");
      this.channel.onMessage((m) => {
        this.messages.push(typeof m === "string" ? m : Buffer.from(m as Buffer));
        this.wake();
      });
      this.channel.onOpen(() => this.wake());
    }
  }

  static async create(o: ClientPeerOptions = {}): Promise<ClientPeer> {
    const c = new ClientPeer(o);
    // a datachannel starts negotiation by itself; a lone track does not
    if (o.dataChannel === false) {
      if (o.ice) c.pc.setLocalDescription("offer", o.ice);
      else c.pc.setLocalDescription();
    }
    await c.gathered(o.gatherTimeoutMs ?? 3000);
    const sdp = c.pc.localDescription()?.sdp ?? "";
    // libdatachannel as the offerer closes itself if the answerer's ICE checks reach it before
    // it has the answer (DTLS starts without the remote fingerprint). Without candidates in the
    // offer the server can only learn our address from our own checks, sent once we have the
    // answer (peer-reflexive, RFC 8445 §7.3.1.3). Browsers do not have this race.
    c.offer = o.offerCandidates ? sdp : sdp.replace(/^a=candidate:.*\r?\n/gm, "");
    return c;
  }

  private gathered(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve) => {
      const check = () => {
        if (this.pc.gatheringState() === "complete" || Date.now() > deadline) resolve();
        else setTimeout(check, 5);
      };
      check();
    });
  }

  accept(answer: string): void {
    this.pc.setRemoteDescription(answer, "answer");
  }

  /** resolves when the predicate holds (checked on every event), rejects after timeoutMs */
  until(pred: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (pred()) {
          cleanup();
          resolve();
        }
      };
      const poll = setInterval(check, 20);
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(`client peer: timed out after ${timeoutMs} ms waiting for ${what} (state ${this.state})`),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearInterval(poll);
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  connected(timeoutMs = 10_000): Promise<void> {
    return this.until(() => this.state === "connected", timeoutMs, "connected");
  }

  /** the audio track open (it can open a moment after the peer reports "connected") */
  trackOpen(timeoutMs = 10_000): Promise<void> {
    return this.until(() => this.track.isOpen(), timeoutMs, "track open");
  }

  channelOpen(timeoutMs = 10_000): Promise<void> {
    return this.until(() => this.channel?.isOpen() === true, timeoutMs, "datachannel open");
  }

  sendText(text: string): void {
    this.channel?.sendMessage(text);
  }

  /** the next datachannel message after `count` already seen */
  async message(index: number, timeoutMs = 5_000): Promise<string | Buffer> {
    await this.until(() => this.messages.length > index, timeoutMs, `datachannel message #${index}`);
    return this.messages[index]!;
  }

  startSending(): void {
    if (this.sender || this.direction === "recvonly") return;
    const frames = encodedTone(this.codec, this.o.toneHz ?? 440);
    const samplesPerFrame = (CLOCK[this.codec] * FRAME_MS) / 1000;
    // a pause (stopSending … startSending) looks like a network outage: the frame index, the
    // sequence number and the timestamp keep following the wall clock
    this.sendOrigin ??= performance.now();
    const s: Sender = {
      start: this.sendOrigin,
      sent: Math.floor((performance.now() - this.sendOrigin) / FRAME_MS),
      sendOne: () => {
        const i = s.sent++;
        const payload = frames[i % frames.length]!;
        const rtp = Buffer.allocUnsafe(12 + payload.length);
        rtp[0] = 0x80;
        rtp[1] = (i === 0 ? 0x80 : 0) | PT[this.codec];
        rtp.writeUInt16BE((this.seq + i + this.seqShift) & 0xffff, 2);
        rtp.writeUInt32BE((this.tsBase + i * samplesPerFrame) >>> 0, 4);
        rtp.writeUInt32BE(this.ssrc, 8);
        payload.copy(rtp, 12);
        try {
          if (this.track.isOpen()) {
            // false: libdatachannel did not take it (counted apart, so "sent" means sent)
            if (this.track.sendMessageBinary(rtp)) {
              this.stats.packetsSent++;
              this.lastSentAt = Date.now();
              this.lastSentFrame = i;
              this.firstSentAt ??= this.lastSentAt;
              this.firstSentFrame ??= i;
            } else this.stats.sendFailures++;
          }
        } catch {
          this.stats.sendFailures++;
          // closed under us: the sender is removed on close
        }
      },
    };
    this.sender = s;
    addSender(s);
  }

  /**
   * One key press as RFC 4733 sends it (§2.5): packets with one RTP timestamp, the event, a
   * growing duration, and the last three with the E bit (the end, sent thrice).
   */
  sendDigit(digit: string, durationMs = 100): void {
    const event = "0123456789*#ABCD".indexOf(digit);
    if (event < 0) throw new Error(`not a DTMF key: ${digit}`);
    const clock = CLOCK[this.codec];
    const ts =
      (this.tsBase + Math.round(((performance.now() - (this.sendOrigin ?? 0)) * clock) / 1000)) >>> 0;
    const steps = Math.max(1, Math.round(durationMs / FRAME_MS));
    for (let k = 1; k <= steps + 2; k++) {
      const end = k >= steps;
      const duration = Math.round((Math.min(k, steps) * FRAME_MS * clock) / 1000);
      const rtp = Buffer.alloc(16);
      rtp[0] = 0x80;
      rtp[1] = (k === 1 ? 0x80 : 0) | DTMF_PT;
      // one SSRC, one sequence space (RFC 4733 §2.1): the event takes the next numbers, the
      // audio after it follows on (SRTP would refuse a number that jumps back)
      const next = this.sender ? this.sender.sent : 0;
      rtp.writeUInt16BE((this.seq + next + this.seqShift++) & 0xffff, 2);
      rtp.writeUInt32BE(ts, 4);
      rtp.writeUInt32BE(this.ssrc, 8);
      rtp[12] = event;
      rtp[13] = (end ? 0x80 : 0) | 10; // E bit, volume −10 dBm0
      rtp.writeUInt16BE(duration, 14);
      this.track.sendMessageBinary(rtp);
    }
  }
  /** sequence numbers taken by telephone-event packets so far */
  private seqShift = 0;

  stopSending(): void {
    if (this.sender) senders.delete(this.sender);
    this.sender = undefined;
  }

  private onRtp(b: Buffer) {
    if (b.length < 12 || (b[1]! >= 192 && b[1]! <= 223)) return; // RTCP (RFC 5761 §4)
    const pt = b[1]! & 0x7f;
    const seq = b.readUInt16BE(2);
    const ssrc = b.readUInt32BE(8);
    this.stats.packetsReceived++;
    this.firstReceivedAt ??= Date.now();
    this.stats.bytesReceived += b.length;
    if (!this.stats.ssrcs.includes(ssrc)) this.stats.ssrcs.push(ssrc);
    if (!this.stats.payloadTypes.includes(pt)) this.stats.payloadTypes.push(pt);
    const ts = b.readUInt32BE(4);
    const prev = this.lastSeq.get(ssrc);
    const prevTs = this.lastTs.get(ssrc);
    if (prev !== undefined && prevTs !== undefined) {
      const gap = (seq - prev - 1) & 0xffff;
      if (gap < 1000) {
        this.stats.lostReceived += gap;
        // each packet, received or lost, carries one 20 ms frame: any further advance is skipped
        const clock = CLOCK[this.codec];
        const beyond = ((ts - prevTs) >>> 0) - ((gap + 1) * clock * FRAME_MS) / 1000;
        if (beyond > 0 && beyond < clock * 10) this.stats.skippedReceivedMs += (beyond * 1000) / clock;
      }
    }
    this.lastSeq.set(ssrc, seq);
    this.lastTs.set(ssrc, ts);
    this.arrivals.push({
      at: performance.timeOrigin + performance.now(),
      seq,
      ts,
      pcmOffset: this.pcmLength,
    });
    if (this.o.decode === false) return;
    // skip the header, its CSRCs and extension (RFC 3550 §5.1, §5.3.1)
    let off = 12 + (b[0]! & 0x0f) * 4;
    if (b[0]! & 0x10 && b.length >= off + 4) off += 4 + b.readUInt16BE(off + 2) * 4;
    let end = b.length;
    if (b[0]! & 0x20) end -= b[b.length - 1]!;
    const payload = b.subarray(off, end);
    if (pt === 0 || pt === 8) {
      const out = new Int16Array(payload.length);
      for (let i = 0; i < payload.length; i++)
        out[i] = pt === 0 ? ulawToLinear(payload[i]!) : alawToLinear(payload[i]!);
      this.pcm.push(out);
      if (this.firstAudibleAt === undefined && rms(out) > 500) this.firstAudibleAt = Date.now();
      this.pcmLength += out.length;
      return;
    }
    this.decoder ??= new Decoder({ channels: 1, sample_rate: 48000 });
    try {
      const raw = this.decoder.decode(payload);
      this.stats.samplesDecoded += raw.byteLength / 2;
      if (this.o.decode === "count") return;
      const pcm = new Int16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2).slice();
      this.pcm.push(pcm);
      this.pcmLength += pcm.length;
      if (this.firstAudibleAt === undefined && rms(pcm) > 500) this.firstAudibleAt = Date.now();
    } catch {
      // an undecodable packet counts as received but adds no audio
    }
  }

  /** everything decoded so far, concatenated (48 kHz mono for Opus, 8 kHz for G.711) */
  receivedPcm(): { rate: number; samples: Int16Array } {
    const n = this.pcm.reduce((a, p) => a + p.length, 0);
    const out = new Int16Array(n);
    let o = 0;
    for (const p of this.pcm) {
      out.set(p, o);
      o += p.length;
    }
    return {
      rate: this.pcm.length && this.codec !== "opus" ? 8000 : this.codec === "opus" ? 48000 : 8000,
      samples: out,
    };
  }

  private wake() {
    for (const w of [...this.waiters]) w();
  }

  /** Orderly close: track and channel first, then the peer; resolves when the peer is closed. */
  close(): Promise<void> {
    this.closedP ??= (async () => {
      this.stopSending();
      try {
        this.channel?.close();
      } catch {}
      try {
        this.track.close();
      } catch {}
      try {
        this.pc.close();
      } catch {}
      await Promise.race([this.closedPeer, new Promise((r) => setTimeout(r, 2000))]);
    })();
    return this.closedP;
  }
}

// ---------------------------------------------------------------- peers that vanish

/**
 * Client peers in a child process. `kill()` SIGKILLs it: the peers vanish without closing, as a
 * phone that loses its network does. Protocol: JSON lines over stdin/stdout.
 */
export class VanishingClients {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, (v: Record<string, unknown>) => void>();
  private next = 0;
  private exited: Promise<void>;

  constructor() {
    this.child = spawn(
      process.execPath,
      ["--import", "tsx", fileURLToPath(import.meta.url), "--vanishing-clients"],
      {
        stdio: ["pipe", "pipe", "inherit"],
      },
    );
    this.exited = new Promise((r) => this.child.once("exit", () => r()));
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      const cb = this.pending.get(msg.req as number);
      if (cb) {
        this.pending.delete(msg.req as number);
        cb(msg);
      }
    });
  }

  private call(
    op: string,
    args: Record<string, unknown> = {},
    timeoutMs = 15_000,
  ): Promise<Record<string, unknown>> {
    const req = this.next++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`vanishing clients: ${op} timed out`)), timeoutMs);
      this.pending.set(req, (v) => {
        clearTimeout(t);
        if (v.error) reject(new Error(String(v.error)));
        else resolve(v);
      });
      this.child.stdin!.write(`${JSON.stringify({ req, op, ...args })}\n`);
    });
  }

  /** create a peer in the child; returns its id and offer */
  async create(o: ClientPeerOptions = {}): Promise<{ id: number; offer: string }> {
    const r = await this.call("create", { opts: o });
    return { id: r.id as number, offer: r.offer as string };
  }
  async accept(id: number, answer: string): Promise<void> {
    await this.call("accept", { id, answer });
  }
  async connected(id: number, timeoutMs = 10_000): Promise<void> {
    await this.call("connected", { id, timeoutMs }, timeoutMs + 1000);
  }
  async stats(id: number): Promise<ClientStats> {
    return (await this.call("stats", { id })).stats as ClientStats;
  }
  /** SIGKILL: every peer in the child vanishes at once, without a goodbye */
  async kill(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.exited;
  }
}

async function vanishingClientsMain() {
  const peers = new Map<number, ClientPeer>();
  let nextId = 0;
  const reply = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
  // the parent went away (test crashed or finished): vanish with it, never linger as an orphan
  process.stdin.on("end", () => process.exit(0));
  createInterface({ input: process.stdin }).on("line", async (line) => {
    const m = JSON.parse(line) as {
      req: number;
      op: string;
      id?: number;
      opts?: ClientPeerOptions;
      answer?: string;
      timeoutMs?: number;
    };
    try {
      if (m.op === "create") {
        const c = await ClientPeer.create({ decode: false, ...m.opts });
        const id = nextId++;
        peers.set(id, c);
        reply({ req: m.req, id, offer: c.offer });
      } else if (m.op === "accept") {
        peers.get(m.id!)!.accept(m.answer!);
        reply({ req: m.req });
      } else if (m.op === "connected") {
        await peers.get(m.id!)!.connected(m.timeoutMs);
        reply({ req: m.req });
      } else if (m.op === "stats") {
        reply({ req: m.req, stats: peers.get(m.id!)!.stats });
      }
    } catch (e) {
      reply({ req: m.req, error: (e as Error).message });
    }
  });
}

if (process.argv.includes("--vanishing-clients") && process.argv[1] === fileURLToPath(import.meta.url)) {
  void vanishingClientsMain();
}
