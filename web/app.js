// The rtcgw demo page: plain browser JavaScript, no build step. One two-way session through
// rtcgw-client.js (POST /v1/sessions?profile=…, and a resume with a new peer when the network
// changes — or when "simulate network change" drops the peer), a datachannel chat, live stats,
// and the recordings list with a player and a waveform drawn from the decoded WAV.
// `window.demo` exposes the same actions for the end-to-end tests.
import { RtcgwCall } from "./rtcgw-client.js";

const $ = (id) => document.getElementById(id);
const ui = {
  profile: $("profile"),
  auth: $("auth"),
  connect: $("connect"),
  hangup: $("hangup"),
  simulate: $("simulate"),
  note: $("note"),
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

/** the current call: rtcgw-client.js's RtcgwCall plus what the page keeps beside it */
let call;
const chatLog = [];

function setState(s) {
  ui.state.textContent = s;
  document.body.dataset.state = s;
}
function showError(msg) {
  ui.error.hidden = !msg;
  ui.error.textContent = msg ?? "";
}
function showNote(msg) {
  ui.note.hidden = !msg;
  ui.note.textContent = msg ?? "";
}

/**
 * What your application's backend does before each call: mint a short-lived, single-use client
 * token for it (`rtcgw token`, or mintClientToken from "rtcgw/token"). `rtcgw dev` plays that part
 * at POST /dev/token when RTCGW_TOKEN_SECRET is set; without it (404) creation is open in dev and
 * the page posts with no token. The page never holds the API token.
 */
async function clientToken(profile) {
  const res = await fetch("/dev/token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ profile }),
  });
  if (res.status === 404) return undefined;
  const body = await res.json().catch(() => ({}));
  if (!res.ok || typeof body.token !== "string")
    throw new Error(`no client token: ${res.status} ${body.reason ?? res.statusText}`);
  return body.token;
}

/**
 * The demo's choices as a session's query: the two *agent* choices are the bridge profile dialing
 * one of the example parrots that `npm start` runs (their URLs at /agent.json), recorded on two
 * channels (caller left, agent right).
 */
async function sessionOptions(profile) {
  if (profile === "record") return { profile, params: { rate: "16000" } };
  if (!profile.startsWith("agent")) return { profile, params: {} };
  const agents = await (await fetch("/agent.json")).json();
  const twilio = profile === "agent-twilio";
  const url = twilio ? agents.twilio : agents.rtcgw;
  if (!url) throw new Error("no example agent is running (npm start runs one)");
  return {
    profile: "bridge",
    params: { bridge: url, ...(twilio ? { bridge_protocol: "twilio" } : {}), record: "1" },
  };
}

async function connect(profile = ui.profile.value) {
  if (call) await hangup();
  showError("");
  showNote("");
  setState("asking for the microphone");
  const mic = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  setState("getting a client token");
  let bearer;
  let session;
  try {
    session = await sessionOptions(profile);
    // the page's choice: an agent token names the parrot (URL and protocol) and allows record=1,
    // as your backend would pin the agent it trusts
    bearer = await clientToken(profile);
  } catch (e) {
    for (const t of mic.getTracks()) t.stop();
    setState("idle");
    showError(e.message);
    throw e;
  }
  ui.auth.textContent = bearer ? "client token for this call (POST /dev/token)" : "open (dev, no token)";
  const startedAt = performance.now();
  const c = new RtcgwCall({
    url: "",
    profile: session.profile,
    token: bearer,
    microphone: mic,
    params: session.params,
  });
  const entry = {
    client: c,
    mic,
    profile,
    startedAt,
    connectedAt: undefined,
    get pc() {
      return c.pc;
    },
    get dc() {
      return c.dataChannel;
    },
    get url() {
      return c.sessionUrl;
    },
    get token() {
      return c.sessionToken;
    },
  };
  c.addEventListener("state", (e) => {
    const { state, cause, reason } = e.detail;
    if (state === "connected") entry.connectedAt ??= performance.now();
    setState(state);
    ui.simulate.disabled = !(state === "connected" || state === "resumed");
    if (state === "interrupted") showNote(`interrupted (${cause}) — resuming with a new peer…`);
    if (state === "ended" && call === entry) {
      if (reason && reason !== "hang-up") showError(`the call ended: ${reason}`);
      // the server (or the resume window) ended it: the page opened the microphone, so it
      // releases it, as hangup() does
      for (const t of mic.getTracks()) t.stop();
      resetButtons();
      call = undefined;
    }
  });
  c.addEventListener("resumed", (e) =>
    showNote(
      `resumed on a new peer #${e.detail.resumes}: ${e.detail.gapMs} ms without audio, resume took ${e.detail.tookMs} ms`,
    ),
  );
  c.addEventListener("resume-failed", (e) =>
    showNote(`resume failed (${e.detail.error}); again in ${e.detail.retryInMs} ms`),
  );
  c.addEventListener("track", () => {
    ui.remote.srcObject = c.remoteStream;
    ui.remote.play().catch(() => {});
  });
  c.addEventListener("channel", (e) => {
    ui.chatInput.disabled = !e.detail.open;
    ui.chatSend.disabled = !e.detail.open;
  });
  c.addEventListener("message", (e) => addChat("gateway", String(e.detail)));
  c.addEventListener("stats", (e) => void updateStats(e.detail));
  call = entry;
  try {
    setState("sending the offer");
    await c.start();
  } catch (e) {
    call = undefined;
    for (const t of mic.getTracks()) t.stop();
    setState("idle");
    showError(e.message);
    throw e;
  }
  ui.connect.disabled = true;
  ui.hangup.disabled = false;
  return { url: c.sessionUrl, auth: bearer ? "client-token" : "open" };
}

function resetButtons() {
  ui.remote.srcObject = null;
  ui.connect.disabled = false;
  ui.hangup.disabled = true;
  ui.simulate.disabled = true;
  ui.chatInput.disabled = true;
  ui.chatSend.disabled = true;
}

async function hangup() {
  if (!call) return;
  const c = call;
  call = undefined;
  // the call's length: from "connected" to the moment we end it
  const endedAt = performance.now();
  const durationMs = endedAt - (c.connectedAt ?? c.startedAt);
  try {
    await c.client.hangUp();
  } finally {
    for (const t of c.mic.getTracks()) t.stop();
    resetButtons();
    setState("idle");
    showNote("");
  }
  if (c.profile === "record") setTimeout(loadRecordings, 500);
  return { durationMs };
}

/** Drop the current peer as a lost network would (no DELETE) and let the client resume. */
function simulateNetworkChange() {
  if (!call) throw new Error("no call");
  call.client.simulateNetworkChange();
}

function addChat(who, text) {
  chatLog.push({ who, text });
  const li = document.createElement("li");
  li.textContent = `${who}: ${text}`;
  ui.chat.append(li);
  ui.chat.scrollTop = ui.chat.scrollHeight;
}

function sendChat(text) {
  if (call?.dc?.readyState !== "open") throw new Error("the datachannel is not open");
  call.client.send(text);
  addChat("you", text);
}

/** Client-side figures from getStats (W3C webrtc-stats), summed over the call's peers. */
async function clientStats() {
  return call ? call.client.stats() : undefined;
}

async function serverStatus() {
  if (!call) return undefined;
  const r = await fetch(call.url, { headers: { authorization: `Bearer ${call.token}` } });
  return r.ok ? r.json() : undefined;
}

async function updateStats(c) {
  const s = await serverStatus().catch(() => undefined);
  if (!c) return;
  const cell = (k) => ui.stats.querySelector(`[data-k="${k}"]`);
  cell("packetsSent").textContent = c.packetsSent;
  cell("packetsReceived").textContent = c.packetsReceived;
  cell("packetsLost").textContent = c.packetsLost;
  cell("concealedMs").textContent = `${Math.round(c.concealedMs)} ms`;
  cell("rttMs").textContent = c.rttMs === undefined ? "–" : `${c.rttMs.toFixed(1)} ms`;
  cell("server").textContent = s?.stats ? `${s.stats.packetsIn} / ${s.stats.packetsOut} (${s.state})` : "–";
  cell("resumes").textContent = c.resumes ? `${c.resumes} (last gap ${c.lastGapMs} ms)` : "0";
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
ui.simulate.addEventListener("click", () => {
  try {
    simulateNetworkChange();
  } catch (e) {
    showError(e.message);
  }
});
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
  simulateNetworkChange,
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
