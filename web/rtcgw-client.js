// rtcgw-client.js — a small browser client for rtcgw (an ES module, no build step, no
// dependency; types in rtcgw-client.d.ts). One call = one rtcgw session:
//
//   import { connect } from "/rtcgw-client.js";
//   const call = await connect({ url: "https://gw.example.com", profile: "echo", token, microphone: true });
//   call.addEventListener("state", (e) => console.log(e.detail.state));   // connecting → connected …
//   call.addEventListener("stats", (e) => console.log(e.detail));
//   audioElement.srcObject = call.remoteStream;
//   await call.hangUp();
//
// Calls survive a network change. libdatachannel (the gateway's WebRTC stack) cannot restart ICE,
// so when the peer fails, ICE fails, the browser goes offline/online or navigator.connection
// reports a change (the path is probed first: a change of estimate alone keeps the call as it
// is), the client builds a new RTCPeerConnection with the same microphone track and
// re-offers it to its own session (POST {session}/resume, docs/signaling.md): the session's id,
// recording, listeners and bridge socket continue on the server. Retries back off (250 ms
// doubling to 4 s) until the resume window (20 s by default, as RTCGW_RESUME_WINDOW) has passed;
// a 404/410 means the session has ended (the call ends with the server's reason). Every request
// to the gateway gives up after requestTimeoutMs (10 s by default): a create fails, a resume
// attempt fails and is retried; the window ends the call even while an attempt hangs.
//
// ICE servers: the gateway's `Link: rel="ice-server"` headers (its STUN servers and a TURN
// credential per session, RFC 9725 §4.6) are applied with the caller's own `iceServers`. The
// first offer is posted before gathering so that the 201's TURN credential is used by the first
// peer; its candidates follow in one PATCH. A resume's peer gathers first, with the last Links.

const DEFAULT_RESUME_WINDOW_MS = 20_000;
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 4_000;
/** ICE "disconnected" often heals by itself (a lost consent check): wait this long first */
const DISCONNECTED_GRACE_MS = 1_500;
/** a new peer that does not connect within this is given up (and the resume retried) */
const CONNECT_TIMEOUT_MS = 10_000;
/** after a network-change cue, how long the current path may stay silent before we resume */
const PROBE_MS = 1_000;
/** how long to wait for ICE gathering before offering what we have */
const GATHER_TIMEOUT_MS = 2_000;
/** how long one HTTP request to the gateway (create, resume, delete) may take */
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** An HTTP refusal from the gateway: its status, code and the sentence it gave. */
export class RtcgwError extends Error {
  constructor(status, code, reason) {
    super(`${status} ${code}: ${reason}`);
    this.name = "RtcgwError";
    this.status = status;
    this.code = code;
    this.reason = reason;
  }
}

/** Start a call: microphone → offer → POST /v1/sessions → answer. Resolves once answered. */
export async function connect(options = {}) {
  const call = new RtcgwCall(options);
  await call.start();
  return call;
}

export class RtcgwCall extends EventTarget {
  constructor(o = {}) {
    super();
    this.options = {
      url: String(o.url ?? "").replace(/\/+$/, ""),
      profile: o.profile ?? "echo",
      token: o.token || undefined,
      params: o.params ?? {},
      dataChannel: o.dataChannel === undefined ? "chat" : o.dataChannel,
      resumeWindowMs: o.resumeWindowMs ?? DEFAULT_RESUME_WINDOW_MS,
      iceServers: o.iceServers ?? [],
      iceTransportPolicy: o.iceTransportPolicy ?? "all",
      statsIntervalMs: o.statsIntervalMs ?? 1_000,
      autoResume: o.autoResume ?? true,
      requestTimeoutMs: o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    };
    this._microphone = o.microphone ?? true;
    /** @type {"new"|"connecting"|"connected"|"interrupted"|"resuming"|"resumed"|"ended"} */
    this.state = "new";
    this.remoteStream = new MediaStream();
    this.resumes = 0;
    this.pc = undefined;
    this.dataChannel = undefined;
    this.sessionUrl = undefined;
    this.sessionToken = undefined;
    this.etag = undefined;
    /** the ICE servers of the gateway's last 201/200 `Link` headers (its TURN credential) */
    this._linkServers = undefined;
    this.interruptedAt = undefined;
    this.lastGapMs = undefined;
    this._ownsMic = false;
    this._statsBase = { packetsSent: 0, packetsReceived: 0, packetsLost: 0, concealedMs: 0 };
    this._resuming = false;
    /** the peer a resume under way replaces: still the call's until the new one connects */
    this._resumeFrom = undefined;
    this._windowTimer = undefined;
    this._deleted = undefined;
    this._wake = undefined;
    this._graceTimer = undefined;
    this._statsTimer = undefined;
    this._onOnline = () => this._networkEvent("online");
    this._onOffline = () => this._networkEvent("offline");
    this._onConnectionChange = () => this._networkEvent("network-change");
  }

  /** @internal used by connect() */
  async start() {
    if (this.state !== "new") throw new Error("this call has already started");
    try {
      this.microphone = await this._openMicrophone();
    } catch (e) {
      this._finish(e.message);
      throw e;
    }
    // hung up while the microphone was asked for: release it, go no further
    if (this.state === "ended") {
      this._stopMicrophone();
      throw hungUp();
    }
    this._setState("connecting");
    const pc = this._newPeer();
    try {
      // The offer goes out before the browser gathers (RFC 9725 §4.6): the 201's
      // `Link: rel="ice-server"` carries this session's TURN credential, and it must be in the
      // peer's configuration when gathering starts (setLocalDescription, below). The candidates
      // follow in one PATCH (trickle); the node's own candidates are in the answer, so checks
      // start from our side at once.
      const offer = await pc.createOffer();
      if (this.state === "ended") throw hungUp();
      const q = new URLSearchParams({ profile: this.options.profile, ...this.options.params });
      const headers = { "content-type": "application/sdp" };
      if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
      const res = await this._fetch(`${this.options.url}/v1/sessions?${q}`, {
        method: "POST",
        headers,
        body: offer.sdp,
      });
      if (res.status !== 201) throw await errorOf(res);
      const base = this.options.url || globalThis.location?.href;
      this.sessionUrl = new URL(res.headers.get("location"), base).href;
      this.sessionToken = res.headers.get("rtcgw-session-token") || undefined;
      this.etag = res.headers.get("etag") || undefined;
      this._linkServers = iceServersOf(res.headers.get("link"));
      // hung up while the POST was in flight: the session exists now, the catch deletes it
      if (this.state === "ended") throw hungUp();
      pc.setConfiguration({ ...pc.getConfiguration(), iceServers: this._iceServers() });
      await pc.setLocalDescription(offer);
      await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
      if (this.state === "ended") throw hungUp();
      void this._trickle(pc);
    } catch (e) {
      this._closePeer(pc);
      // a session we got a 201 for is ours to end: nobody else knows its token
      void this._deleteSession();
      this._finish(e.message);
      throw e;
    }
    this._listenToNetwork(true);
    this._statsTimer = setInterval(() => void this.stats(), this.options.statsIntervalMs);
  }

  /** End the call: DELETE the session, close the peer, release the microphone if we opened it. */
  async hangUp() {
    if (this.state === "ended") return;
    this._finish("hang-up");
    // (a POST still in flight: start() deletes the session once its 201 arrives)
    await this._deleteSession();
  }

  /** Resume now with a new peer (what the client does by itself on a network change), also
   *  with autoResume: false. */
  resume(cause = "requested") {
    this._interrupt(cause, true);
  }

  /** For demos and tests: the current peer is dropped as a lost network drops it (no DELETE, no
   *  goodbye to the server), and the call resumes with a new one. */
  simulateNetworkChange() {
    if (this.state === "ended" || !this.pc) return;
    const lost = this.pc;
    this._closePeer(lost);
    this._interrupt("simulated network change");
  }

  /** Client-side figures (W3C webrtc-stats), summed over every peer of the call. Also emitted as
   *  a "stats" event every statsIntervalMs. */
  async stats() {
    const pc = this.pc;
    if (!pc || this.state === "ended") return undefined;
    // during a resume the peer it replaces still counts (it is the call's until the new one
    // connects, and again if the resume fails): its figures are folded in only on success
    const from = this._resumeFrom;
    const now = await peerFigures(pc);
    const prev = from && from !== pc ? await peerFigures(from) : undefined;
    if (!now || pc !== this.pc || this.state === "ended") return undefined;
    if (prev) from._rtcgwLast = prev;
    pc._rtcgwLast = now;
    const b = this._statsBase;
    const p = (from && from !== pc && from._rtcgwLast) || {};
    const detail = {
      packetsSent: b.packetsSent + (p.packetsSent ?? 0) + now.packetsSent,
      packetsReceived: b.packetsReceived + (p.packetsReceived ?? 0) + now.packetsReceived,
      packetsLost: b.packetsLost + (p.packetsLost ?? 0) + now.packetsLost,
      concealedMs: b.concealedMs + (p.concealedMs ?? 0) + now.concealedMs,
      rttMs: now.rttMs,
      state: this.state,
      resumes: this.resumes,
      lastGapMs: this.lastGapMs,
    };
    this.dispatchEvent(new CustomEvent("stats", { detail }));
    return detail;
  }

  /** Send a text message on the datachannel (the echo profile echoes it). */
  send(text) {
    if (this.dataChannel?.readyState !== "open") throw new Error("the datachannel is not open");
    this.dataChannel.send(text);
  }

  // ───────────────────────────────────────────────────────────────── peers

  _newPeer() {
    const pc = new RTCPeerConnection({
      bundlePolicy: "max-bundle",
      iceServers: this._iceServers(),
      iceTransportPolicy: this.options.iceTransportPolicy,
    });
    const track = this.microphone?.getAudioTracks()[0];
    if (track) pc.addTransceiver(track, { direction: "sendrecv", streams: [this.microphone] });
    else pc.addTransceiver("audio", { direction: "recvonly" });
    if (this.options.dataChannel) {
      const dc = pc.createDataChannel(this.options.dataChannel);
      dc.onmessage = (e) => this.dispatchEvent(new CustomEvent("message", { detail: e.data }));
      dc.onopen = () => this.dispatchEvent(new CustomEvent("channel", { detail: { open: true } }));
      dc.onclose = () => {
        if (this.dataChannel === dc)
          this.dispatchEvent(new CustomEvent("channel", { detail: { open: false } }));
      };
      pc._rtcgwChannel = dc;
    }
    pc.ontrack = (e) => {
      pc._rtcgwTrack = e.track;
      if (pc !== this.pc) return;
      // one remote stream for the whole call: the new peer's track replaces the old one's
      this._remoteTrack(e.track);
    };
    pc.onconnectionstatechange = () => this._peerState(pc);
    pc.oniceconnectionstatechange = () => {
      if (pc === this.pc && pc.iceConnectionState === "failed") this._interrupt("ice-failed");
    };
    this.pc = pc;
    this.dataChannel = pc._rtcgwChannel;
    return pc;
  }

  /** A resume's offer, its candidates gathered first: the node takes trickled candidates only
   *  for the ICE generation it answered (a resume's new peer is another one), so a new peer
   *  gathers with the servers it already knows — the latest `Link`s, whose TURN credential lives
   *  RTCGW_TURN_TTL (an hour by default) — and offers them all at once. */
  async _offer(pc) {
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, GATHER_TIMEOUT_MS);
    return pc.localDescription.sdp;
  }

  /** the configured ICE servers and those the gateway announced in its last 201/200 */
  _iceServers() {
    return [...this.options.iceServers, ...(this._linkServers ?? [])];
  }

  /** Trickle (RFC 8840, RFC 9725 §4.4): the first peer's candidates, once gathered, in one
   *  PATCH. Best effort: the node answers our checks without them (peer-reflexive), so a gateway
   *  that refuses the PATCH costs nothing but its own checks toward us. */
  async _trickle(pc) {
    await gathered(pc, GATHER_TIMEOUT_MS);
    const sdp = pc.localDescription?.sdp;
    if (!sdp || pc !== this.pc || this.state === "ended" || !this.sessionUrl) return;
    const frag = sdpFragOf(sdp, pc.iceGatheringState === "complete");
    if (!frag) return;
    try {
      await this._fetch(this.sessionUrl, {
        method: "PATCH",
        headers: {
          "content-type": "application/trickle-ice-sdpfrag",
          "if-match": this.etag ?? "*",
          ...this._auth(),
        },
        body: frag,
      });
    } catch {}
  }

  _peerState(pc) {
    if (pc !== this.pc || this.state === "ended") return;
    const s = pc.connectionState;
    this._wake?.();
    if (s === "connected") {
      clearTimeout(this._graceTimer);
      if (this.state === "connecting") this._setState("connected");
      // the same peer came back by itself (a short outage): nothing to resume
      else if (this.state === "interrupted" && !this._resuming)
        this._setState(this.resumes ? "resumed" : "connected");
    } else if (s === "disconnected") {
      clearTimeout(this._graceTimer);
      this._graceTimer = setTimeout(() => {
        if (pc === this.pc && pc.connectionState === "disconnected") this._interrupt("disconnected");
      }, DISCONNECTED_GRACE_MS);
    } else if (s === "failed") {
      this._interrupt("failed");
    }
  }

  // ───────────────────────────────────────────────────────────────── resume

  async _networkEvent(kind) {
    if (this.state === "ended" || this.state === "new") return;
    if (kind === "online" && this._wake) {
      this._wake(); // a retry loop waiting for the network: go now
      return;
    }
    if (kind === "offline") {
      this._interrupt(kind);
      return;
    }
    // "online" or a navigator.connection change while the call runs: Chromium also fires "change"
    // when only its bandwidth/RTT estimate moved, so ask the path first — anything received on
    // it within the probe means it is alive; silence means it died with the old network (do not
    // wait for ICE to notice, which takes seconds)
    if ((this.state === "connected" || this.state === "resumed") && (await this._pathAlive(PROBE_MS))) {
      this.dispatchEvent(new CustomEvent("network", { detail: { kind, pathAlive: true } }));
      return;
    }
    this._interrupt(kind);
  }

  /** true if the current peer's selected candidate pair received anything within `ms` */
  async _pathAlive(ms) {
    const pc = this.pc;
    if (pc?.connectionState !== "connected") return false;
    const received = async () => {
      let n = 0;
      try {
        (await pc.getStats()).forEach((s) => {
          if (s.type === "candidate-pair" && s.nominated) n += s.bytesReceived ?? 0;
        });
      } catch {}
      return n;
    };
    const before = await received();
    await new Promise((r) => setTimeout(r, ms));
    if (pc !== this.pc) return true; // resumed meanwhile by another cue
    return pc.connectionState === "connected" && (await received()) > before;
  }

  _interrupt(cause, requested = false) {
    if (this.state === "ended" || this.state === "new") return;
    if (this.state === "connecting" && !this.sessionUrl) return;
    if (this.state !== "interrupted" && this.state !== "resuming") {
      this.interruptedAt = Date.now();
      this._setState("interrupted", { cause });
    }
    if (this.options.autoResume || requested) void this._resumeLoop(cause);
  }

  async _resumeLoop(cause) {
    if (this._resuming) return;
    this._resuming = true;
    let delay = FIRST_RETRY_MS;
    // the window ends the call even while an attempt is under way (a hung request, a peer that
    // does not connect): _finish closes both peers, the attempt fails and the loop stops
    const left = this.interruptedAt + this.options.resumeWindowMs - Date.now();
    this._windowTimer = setTimeout(
      () => this._finish(`no resume within ${this.options.resumeWindowMs / 1000} s (${cause})`),
      Math.max(0, left),
    );
    try {
      while (this.state !== "ended") {
        if (Date.now() - this.interruptedAt > this.options.resumeWindowMs) {
          this._finish(`no resume within ${this.options.resumeWindowMs / 1000} s (${cause})`);
          return;
        }
        if (globalThis.navigator?.onLine === false) {
          await this._sleep(delay); // until "online" wakes us, or the next try
          continue;
        }
        try {
          await this._resumeOnce();
          return;
        } catch (e) {
          if (this.state === "ended") return; // hung up (or the window passed) meanwhile
          // the session is over (or never ours): start a new one, do not retry
          if (e instanceof RtcgwError && e.status < 500 && e.status !== 408 && e.status !== 429) {
            this._finish(e.reason ?? e.message);
            return;
          }
          this.dispatchEvent(
            new CustomEvent("resume-failed", { detail: { error: e.message, retryInMs: delay } }),
          );
        }
        await this._sleep(delay);
        delay = Math.min(delay * 2, MAX_RETRY_MS);
      }
    } finally {
      clearTimeout(this._windowTimer);
      this._resuming = false;
    }
  }

  async _resumeOnce() {
    this._setState("resuming");
    const old = this.pc;
    this._resumeFrom = old;
    const pc = this._newPeer();
    const postedAt = performance.now();
    try {
      const offer = await this._offer(pc);
      if (this.state === "ended") throw hungUp();
      const res = await this._fetch(`${this.sessionUrl}/resume`, {
        method: "POST",
        headers: { "content-type": "application/sdp", ...this._auth() },
        body: offer,
      });
      if (res.status !== 200) throw await errorOf(res);
      this.etag = res.headers.get("etag") || this.etag;
      // a fresh credential for the next peer (this one gathered with the last ones)
      if (res.headers.get("link")) this._linkServers = iceServersOf(res.headers.get("link"));
      await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
      await this._connected(pc);
      if (this.state === "ended") throw hungUp();
    } catch (e) {
      // the old peer stays the call's until a new one connects: its channel, its track, its
      // counts (stats() adds them only once, from the old peer itself)
      this._resumeFrom = undefined;
      if (this.pc === pc) {
        this.pc = old;
        this.dataChannel = old?._rtcgwChannel;
        if (old?._rtcgwTrack && this.state !== "ended") this._remoteTrack(old._rtcgwTrack);
      }
      this._closePeer(pc);
      if (this.state === "ended" && old) this._closePeer(old);
      throw e;
    }
    // the server closes the old peer once this one is connected; so do we. Its counts stay in
    // the call's totals
    this._resumeFrom = undefined;
    if (old && old !== pc) {
      const last = old._rtcgwLast;
      if (last) for (const k of Object.keys(this._statsBase)) this._statsBase[k] += last[k] ?? 0;
      this._closePeer(old);
    }
    this.resumes++;
    this.lastGapMs = Date.now() - this.interruptedAt;
    this.interruptedAt = undefined;
    this._setState("resumed");
    this.dispatchEvent(
      new CustomEvent("resumed", {
        detail: {
          resumes: this.resumes,
          gapMs: this.lastGapMs,
          tookMs: Math.round(performance.now() - postedAt),
        },
      }),
    );
  }

  _connected(pc) {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => done(new Error("the new peer did not connect in time")), CONNECT_TIMEOUT_MS);
      const check = () => {
        if (pc.connectionState === "connected") done();
        else if (pc.connectionState === "failed" || pc.connectionState === "closed")
          done(new Error(`the new peer ${pc.connectionState}`));
      };
      const done = (err) => {
        clearTimeout(t);
        pc.removeEventListener("connectionstatechange", check);
        if (err) reject(err);
        else resolve();
      };
      pc.addEventListener("connectionstatechange", check);
      check();
    });
  }

  // ───────────────────────────────────────────────────────────────── plumbing

  /** the one remote stream of the call carries `track` (a new peer's, or the old one's again) */
  _remoteTrack(track) {
    const cur = this.remoteStream.getTracks();
    if (cur.length === 1 && cur[0] === track) return;
    for (const t of cur) this.remoteStream.removeTrack(t);
    this.remoteStream.addTrack(track);
    this.dispatchEvent(new CustomEvent("track", { detail: { track, stream: this.remoteStream } }));
  }

  /** fetch with the per-request timeout: a gateway that does not answer is an error, not a wait */
  async _fetch(url, init) {
    const ms = this.options.requestTimeoutMs;
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(ms) });
    } catch (e) {
      if (e?.name === "TimeoutError")
        throw new Error(`${init.method ?? "GET"} ${url}: no answer from the gateway within ${ms / 1000} s`);
      throw e;
    }
  }

  /** DELETE the session (once), if there is one */
  _deleteSession() {
    if (!this.sessionUrl) return Promise.resolve();
    this._deleted ??= this._fetch(this.sessionUrl, { method: "DELETE", headers: this._auth() }).then(
      () => undefined,
      () => undefined,
    );
    return this._deleted;
  }

  _auth() {
    const cred = this.sessionToken ?? this.options.token;
    return cred ? { authorization: `Bearer ${cred}` } : {};
  }

  _sleep(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this._wake = undefined;
        resolve();
      }, ms);
      this._wake = () => {
        clearTimeout(t);
        this._wake = undefined;
        resolve();
      };
    });
  }

  async _openMicrophone() {
    const m = this._microphone;
    if (m === false) return undefined;
    if (typeof MediaStream !== "undefined" && m instanceof MediaStream) return m;
    if (typeof MediaStreamTrack !== "undefined" && m instanceof MediaStreamTrack) return new MediaStream([m]);
    const constraints = m === true ? { echoCancellation: true, noiseSuppression: true } : m;
    const stream = await navigator.mediaDevices.getUserMedia({ audio: constraints });
    this._ownsMic = true;
    return stream;
  }

  _stopMicrophone() {
    if (this._ownsMic) for (const t of this.microphone?.getTracks() ?? []) t.stop();
  }

  _closePeer(pc) {
    try {
      pc._rtcgwChannel?.close();
    } catch {}
    try {
      pc.close();
    } catch {}
  }

  _listenToNetwork(on) {
    const f = on ? "addEventListener" : "removeEventListener";
    globalThis[f]?.("online", this._onOnline);
    globalThis[f]?.("offline", this._onOffline);
    globalThis.navigator?.connection?.[f]?.("change", this._onConnectionChange);
  }

  _finish(reason) {
    if (this.state === "ended") return;
    clearInterval(this._statsTimer);
    clearTimeout(this._graceTimer);
    clearTimeout(this._windowTimer);
    this._wake?.();
    this._listenToNetwork(false);
    if (this.pc) this._closePeer(this.pc);
    if (this._resumeFrom) this._closePeer(this._resumeFrom);
    this._stopMicrophone();
    this._setState("ended", { reason });
    this.dispatchEvent(new CustomEvent("ended", { detail: { reason } }));
  }

  _setState(state, extra = {}) {
    if (this.state === state) return;
    const previous = this.state;
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, previous, ...extra } }));
  }
}

/** Waits until ICE gathering is complete (host candidates come fast), at most `ms`. */
function gathered(pc, ms) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const t = setTimeout(done, ms);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/** The ICE servers of `Link: <url>; rel="ice-server"; username="…"; credential="…"` headers
 *  (RFC 9725 §4.6; several in one comma-joined header, as fetch joins them). */
function iceServersOf(link) {
  const servers = [];
  for (const m of String(link ?? "").matchAll(/<([^>]*)>((?:\s*;\s*[A-Za-z-]+(?:="[^"]*"|=[^\s;,]*)?)*)/g)) {
    const p = {};
    for (const q of m[2].matchAll(/([A-Za-z-]+)(?:="([^"]*)"|=([^\s;,]*))?/g))
      p[q[1].toLowerCase()] = q[2] ?? q[3] ?? "";
    const rels = String(p.rel ?? "").split(/\s+/);
    if (!rels.includes("ice-server")) continue;
    const url = m[1];
    if (!/^(stun|stuns|turn|turns):/i.test(url)) continue;
    const turn = /^turns?:/i.test(url);
    // a TURN URL without its credential cannot be used (the browser refuses the whole list)
    if (turn && (p.username === undefined || p.credential === undefined)) continue;
    servers.push(turn ? { urls: url, username: p.username, credential: p.credential } : { urls: url });
  }
  return servers;
}

/** An RFC 8840 fragment of the first m-line's ICE lines (BUNDLE: one transport), or undefined
 *  when there is no candidate to send. */
function sdpFragOf(sdp, complete) {
  const lines = sdp.split(/\r?\n/);
  const session = lines.filter((l) => /^a=ice-(ufrag|pwd):/.test(l));
  const m = lines.findIndex((l) => l.startsWith("m="));
  if (m < 0) return undefined;
  const next = lines.findIndex((l, i) => i > m && l.startsWith("m="));
  const media = lines.slice(m, next < 0 ? undefined : next);
  const ice = media.filter((l) => /^a=ice-(ufrag|pwd):/.test(l));
  const mid = media.find((l) => l.startsWith("a=mid:"));
  const candidates = media.filter((l) => l.startsWith("a=candidate:"));
  if (candidates.length === 0) return undefined;
  const out = [...(ice.length ? ice : session.slice(0, 2)), media[0], ...(mid ? [mid] : []), ...candidates];
  if (complete) out.push("a=end-of-candidates");
  return `${out.join("\r\n")}\r\n`;
}

/** the audio counters of one peer (W3C webrtc-stats), or undefined if it cannot say */
async function peerFigures(pc) {
  const now = { packetsSent: 0, packetsReceived: 0, packetsLost: 0, concealedMs: 0, rttMs: undefined };
  try {
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type === "outbound-rtp" && s.kind === "audio") now.packetsSent += s.packetsSent ?? 0;
      if (s.type === "inbound-rtp" && s.kind === "audio") {
        now.packetsReceived += s.packetsReceived ?? 0;
        now.packetsLost += s.packetsLost ?? 0;
        // concealedSamples are counted at the decoder's output rate (48 kHz for Opus)
        if (s.concealedSamples !== undefined) now.concealedMs += (s.concealedSamples / 48000) * 1000;
      }
      if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime !== undefined)
        now.rttMs = s.currentRoundTripTime * 1000;
    });
  } catch {
    return undefined;
  }
  return now;
}

function hungUp() {
  return new DOMException("the call was hung up before it was answered", "AbortError");
}

async function errorOf(res) {
  const body = await res.json().catch(() => ({}));
  return new RtcgwError(res.status, body.error ?? "error", body.reason ?? body.message ?? res.statusText);
}
