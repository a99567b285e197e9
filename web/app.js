// The rtcgw demo page: plain browser JavaScript, no build step. One two-way session
// (POST /v1/sessions?profile=…, RFC 9725 offer/answer), a datachannel chat, live stats from
// getStats, and the recordings list with a player and a waveform drawn from the decoded WAV.
// `window.demo` exposes the same actions for the end-to-end tests.

const $ = (id) => document.getElementById(id);
const ui = {
  profile: $("profile"),
  token: $("token"),
  connect: $("connect"),
  hangup: $("hangup"),
  state: $("state"),
  error: $("error"),
  remote: $("remote"),
  stats: $("stats"),
  chat: $("chat"),
  chatForm: $("chat-form"),
  chatInput: $("chat-input"),
  chatSend: $("chat-send"),
  recordings: $("recordings"),
  refresh: $("refresh"),
};

/** @type {{pc: RTCPeerConnection, dc: RTCDataChannel, mic: MediaStream, url: string, token: string, etag: string, profile: string, startedAt: number} | undefined} */
let call;
let statsTimer;
const chatLog = [];

function setState(s) {
  ui.state.textContent = s;
  document.body.dataset.state = s;
}
function showError(msg) {
  ui.error.hidden = !msg;
  ui.error.textContent = msg ?? "";
}

/** Waits until ICE gathering is complete (host candidates on loopback/LAN come fast), at most `ms`. */
function gathered(pc, ms = 2000) {
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

/** the query of POST /v1/sessions for a choice of the page (an agent is the dev server's parrot) */
async function sessionQuery(profile) {
  if (profile === "record") return "profile=record&rate=16000";
  if (!profile.startsWith("agent")) return `profile=${encodeURIComponent(profile)}`;
  const agents = await (await fetch("/agent.json")).json(); // npm start runs the example parrots
  const twilio = profile === "agent-twilio";
  const url = twilio ? agents.twilio : agents.rtcgw;
  if (!url) throw new Error("no example agent is running (npm start runs one)");
  return `profile=bridge&bridge=${encodeURIComponent(url)}${twilio ? "&bridge_protocol=twilio" : ""}&record=1`;
}

async function connect(profile = ui.profile.value) {
  if (call) await hangup();
  showError("");
  setState("asking for the microphone");
  const mic = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  // audio both ways: the echo profile sends our voice back; record listens only
  pc.addTransceiver(mic.getAudioTracks()[0], { direction: "sendrecv", streams: [mic] });
  const dc = pc.createDataChannel("chat");
  pc.ontrack = (e) => {
    ui.remote.srcObject = e.streams[0] ?? new MediaStream([e.track]);
    ui.remote.play().catch(() => {});
  };
  let connectedAt;
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === "connected" && connectedAt === undefined) {
      connectedAt = performance.now();
      if (call?.pc === pc) call.connectedAt = connectedAt;
    }
    setState(pc.connectionState);
    if (pc.connectionState === "failed") showError("the connection failed (ICE/DTLS); see the server log");
  };
  dc.onopen = () => {
    ui.chatInput.disabled = false;
    ui.chatSend.disabled = false;
  };
  dc.onclose = () => {
    ui.chatInput.disabled = true;
    ui.chatSend.disabled = true;
  };
  dc.onmessage = (e) => addChat("gateway", String(e.data));

  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  setState("sending the offer");
  const headers = { "content-type": "application/sdp" };
  const apiToken = ui.token.value.trim();
  if (apiToken) headers.authorization = `Bearer ${apiToken}`;
  const res = await fetch(`/v1/sessions?${await sessionQuery(profile)}`, {
    method: "POST",
    headers,
    body: pc.localDescription.sdp,
  });
  if (res.status !== 201) {
    const body = await res.json().catch(() => ({}));
    pc.close();
    for (const t of mic.getTracks()) t.stop();
    setState("idle");
    const msg = `${res.status}: ${body.reason ?? body.message ?? res.statusText}`;
    showError(msg);
    throw new Error(msg);
  }
  const answer = await res.text();
  call = {
    pc,
    dc,
    mic,
    profile,
    url: res.headers.get("location"),
    // the per-session secret: reads, trickles and deletes this session
    token: res.headers.get("rtcgw-session-token"),
    etag: res.headers.get("etag"),
    startedAt: performance.now(),
    connectedAt,
  };
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  ui.connect.disabled = true;
  ui.hangup.disabled = false;
  statsTimer = setInterval(updateStats, 1000);
  return { url: call.url };
}

async function hangup() {
  if (!call) return;
  const c = call;
  call = undefined;
  clearInterval(statsTimer);
  // the call's length: from "connected" to the moment we end it
  const endedAt = performance.now();
  const durationMs = endedAt - (c.connectedAt ?? c.startedAt);
  try {
    await fetch(c.url, { method: "DELETE", headers: { authorization: `Bearer ${c.token}` } });
  } finally {
    c.dc.close();
    c.pc.close();
    for (const t of c.mic.getTracks()) t.stop();
    ui.remote.srcObject = null;
    ui.connect.disabled = false;
    ui.hangup.disabled = true;
    ui.chatInput.disabled = true;
    ui.chatSend.disabled = true;
    setState("idle");
  }
  if (c.profile === "record") setTimeout(loadRecordings, 500);
  return { durationMs };
}

function addChat(who, text) {
  chatLog.push({ who, text });
  const li = document.createElement("li");
  li.textContent = `${who}: ${text}`;
  ui.chat.append(li);
  ui.chat.scrollTop = ui.chat.scrollHeight;
}

function sendChat(text) {
  if (call?.dc.readyState !== "open") throw new Error("the datachannel is not open");
  call.dc.send(text);
  addChat("you", text);
}

/** Client-side figures from getStats (W3C webrtc-stats). */
async function clientStats() {
  if (!call) return undefined;
  const out = { packetsSent: 0, packetsReceived: 0, packetsLost: 0, concealedMs: 0, rttMs: undefined };
  const report = await call.pc.getStats();
  report.forEach((s) => {
    if (s.type === "outbound-rtp" && s.kind === "audio") out.packetsSent += s.packetsSent ?? 0;
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      out.packetsReceived += s.packetsReceived ?? 0;
      out.packetsLost += s.packetsLost ?? 0;
      // concealedSamples are counted at the decoder's output rate (48 kHz for Opus)
      if (s.concealedSamples !== undefined) out.concealedMs += (s.concealedSamples / 48000) * 1000;
    }
    if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime !== undefined)
      out.rttMs = s.currentRoundTripTime * 1000;
    if (s.type === "remote-inbound-rtp" && out.rttMs === undefined && s.roundTripTime !== undefined)
      out.rttMs = s.roundTripTime * 1000;
  });
  return out;
}

async function serverStatus() {
  if (!call) return undefined;
  const r = await fetch(call.url, { headers: { authorization: `Bearer ${call.token}` } });
  return r.ok ? r.json() : undefined;
}

async function updateStats() {
  const [c, s] = await Promise.all([clientStats(), serverStatus().catch(() => undefined)]);
  if (!c) return;
  const cell = (k) => ui.stats.querySelector(`[data-k="${k}"]`);
  cell("packetsSent").textContent = c.packetsSent;
  cell("packetsReceived").textContent = c.packetsReceived;
  cell("packetsLost").textContent = c.packetsLost;
  cell("concealedMs").textContent = `${Math.round(c.concealedMs)} ms`;
  cell("rttMs").textContent = c.rttMs === undefined ? "–" : `${c.rttMs.toFixed(1)} ms`;
  cell("server").textContent = s?.stats ? `${s.stats.packetsIn} / ${s.stats.packetsOut} (${s.state})` : "–";
}

// ------------------------------------------------------------------ recordings

async function loadRecordings() {
  const r = await fetch("/recordings");
  const { recordings } = await r.json();
  ui.recordings.replaceChildren();
  if (recordings.length === 0) {
    ui.recordings.innerHTML = '<li class="muted">none yet — record a call</li>';
    return recordings;
  }
  for (const rec of recordings.slice(0, 20)) {
    const li = document.createElement("li");
    const src = `/recordings/${rec.path.split("/").map(encodeURIComponent).join("/")}`;
    const info = document.createElement("div");
    info.innerHTML = `<div><a href="${src}" download></a></div><small class="muted"></small>`;
    info.querySelector("a").textContent = rec.path;
    info.querySelector("small").textContent =
      `${(rec.bytes / 1024).toFixed(1)} KB · ${new Date(rec.modifiedAt).toLocaleString()}`;
    const media = document.createElement("div");
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "none";
    audio.src = src;
    media.append(audio);
    if (rec.path.endsWith(".wav")) {
      const canvas = document.createElement("canvas");
      canvas.width = 600;
      canvas.height = 48;
      media.append(canvas);
      drawWaveform(src, canvas).catch(() => {});
    }
    li.append(info, media);
    ui.recordings.append(li);
  }
  return recordings;
}

/** The sample rate in a canonical WAV header (fmt chunk first), or undefined. */
function wavRate(bytes) {
  const v = new DataView(bytes);
  const tag = (o) =>
    String.fromCharCode(v.getUint8(o), v.getUint8(o + 1), v.getUint8(o + 2), v.getUint8(o + 3));
  if (bytes.byteLength < 44 || tag(0) !== "RIFF" || tag(8) !== "WAVE" || tag(12) !== "fmt ") return undefined;
  return v.getUint32(24, true);
}

/** Min/max per pixel column of the decoded file: a waveform picture without any library. */
async function drawWaveform(src, canvas) {
  const bytes = await (await fetch(src)).arrayBuffer();
  // decodeAudioData resamples to the context's rate: decode at the file's own rate
  const ctx = new OfflineAudioContext(1, 1, wavRate(bytes) ?? 48000);
  const buf = await ctx.decodeAudioData(bytes);
  const data = buf.getChannelData(0);
  const g = canvas.getContext("2d");
  const { width: w, height: h } = canvas;
  g.clearRect(0, 0, w, h);
  g.fillStyle = "#0b66c3";
  const per = Math.max(1, Math.floor(data.length / w));
  for (let x = 0; x < w; x++) {
    let lo = 1,
      hi = -1;
    for (let i = x * per; i < Math.min(data.length, (x + 1) * per); i++) {
      const v = data[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (hi < lo) break;
    g.fillRect(x, ((1 - hi) / 2) * h, 1, Math.max(1, ((hi - lo) / 2) * h));
  }
  return { seconds: buf.duration, sampleRate: buf.sampleRate };
}

// ------------------------------------------------------------------ wiring

ui.connect.addEventListener("click", () => connect().catch((e) => showError(e.message)));
ui.hangup.addEventListener("click", () => hangup().catch((e) => showError(e.message)));
ui.refresh.addEventListener("click", () => loadRecordings());
ui.chatForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const text = ui.chatInput.value.trim();
  if (!text) return;
  try {
    sendChat(text);
    ui.chatInput.value = "";
  } catch (err) {
    showError(err.message);
  }
});
loadRecordings().catch(() => {});
setState("idle");

window.demo = {
  connect,
  hangup,
  sendChat,
  clientStats,
  serverStatus,
  loadRecordings,
  drawWaveform,
  chatLog,
  get call() {
    return call;
  },
};
