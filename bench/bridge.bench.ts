// npm run bench:bridge — one-way latency through the bridge, both directions, both protocols,
// beside its anchors measured in the same run: a bare RTP hop (node-datachannel peer to peer) and a
// bare WebSocket message. Everything runs in this one process, so every timestamp is on one clock
// (performance.now()).
//
// caller → agent: the caller sends Opus silence with a 100 ms tone burst every 400 ms; the time is
// taken when the burst's first packet is handed to libdatachannel and when the agent sees the
// first loud frame of it. agent → caller: the agent sends 100 ms of tone every 400 ms; the time is
// taken when it calls ws.send and when the caller's track delivers the first loud packet.
// Per protocol, one node and CALLS (3) calls on it, one after the other: the first call vs the
// later ones (the first node of the process is started cold: its first call is the first call
// after a start). Then one more call with JITTER_MS (30) of jitter on the caller's RTP, applied
// at the sender: each packet is handed to libdatachannel a uniform 0..30 ms after its nominal
// time (as udp-impair's or netem's --jitter: packets overtake each other), timed both from the
// hand-off (what the gateway adds) and from the nominal send (the packet's own delay included).
// The machine is shared: the figures are provisional (docs/benchmarks.md says so).
import { loadavg } from "node:os";
import { Encoder } from "@evan/opus";
import nodeDataChannel from "node-datachannel";
import { WebSocket, WebSocketServer } from "ws";
import { startLocalNode } from "../src/cli/local-gateway.js";
import { loadConfig } from "../src/config/index.js";
import { signRequest } from "../src/control/hmac.js";
import { createLogger } from "../src/log/index.js";
import { ClientPeer } from "../test/support/client-peer.js";

const BURSTS = Number(process.env.BURSTS ?? 30);
const EVERY_MS = 400;
const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}
const fmt = (xs: number[]) =>
  xs.length
    ? `p50 ${pct(xs, 50).toFixed(1)} ms  p99 ${pct(xs, 99).toFixed(1)} ms  (n=${xs.length})`
    : "no samples";

function rms(pcm: Int16Array): number {
  let s = 0;
  for (const v of pcm) s += v * v;
  return Math.sqrt(s / Math.max(1, pcm.length));
}
const ULAW = Int16Array.from({ length: 256 }, (_, u) => {
  const x = ~u & 0xff;
  const m = (((x & 0x0f) << 3) + 0x84) << ((x >> 4) & 7);
  return x & 0x80 ? 0x84 - m : m - 0x84;
});

// ------------------------------------------------------------------ anchors

async function bareWebSocket(): Promise<number[]> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => wss.once("listening", r));
  const got: number[] = [];
  wss.on("connection", (ws) => ws.on("message", (d) => got.push(now() - Number(String(d)))));
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}/`);
  await new Promise((r) => ws.once("open", r));
  for (let i = 0; i < BURSTS * 3; i++) {
    ws.send(String(now()));
    await sleep(20);
  }
  await sleep(100);
  ws.close();
  await new Promise((r) => wss.close(r));
  return got;
}

async function bareRtpHop(): Promise<number[]> {
  const a = new nodeDataChannel.PeerConnection("bench-a", { iceServers: [] });
  const b = new nodeDataChannel.PeerConnection("bench-b", { iceServers: [] });
  const audio = new nodeDataChannel.Audio("0", "SendRecv");
  audio.addOpusCodec(111);
  audio.addSSRC(1234, "bench");
  const ta = a.addTrack(audio);
  const got: number[] = [];
  b.onTrack((t) => t.onMessage((m) => got.push(now() - Buffer.from(m).readDoubleBE(12))));
  a.onLocalDescription((sdp, type) => b.setRemoteDescription(sdp, type));
  b.onLocalDescription((sdp, type) => a.setRemoteDescription(sdp, type));
  a.onLocalCandidate((c, mid) => b.addRemoteCandidate(c, mid));
  b.onLocalCandidate((c, mid) => a.addRemoteCandidate(c, mid));
  a.setLocalDescription();
  const t0 = now();
  while (!ta.isOpen() && now() - t0 < 15_000) await sleep(20);
  // on a loaded machine the pair can take seconds to connect: say so rather than print no samples
  if (!ta.isOpen()) throw new Error("bare RTP hop: the track did not open within 15 s");
  for (let i = 0; i < BURSTS * 3; i++) {
    const rtp = Buffer.alloc(20);
    rtp[0] = 0x80;
    rtp[1] = 111;
    rtp.writeUInt16BE(i, 2);
    rtp.writeUInt32BE(i * 960, 4);
    rtp.writeUInt32BE(1234, 8);
    rtp.writeDoubleBE(now(), 12);
    ta.sendMessageBinary(rtp);
    await sleep(20);
  }
  await sleep(100);
  a.close();
  b.close();
  return got;
}

// ------------------------------------------------------------------ through the bridge

/** one call's figures; caller → agent is timed from the burst's first packet handed to
 *  libdatachannel (`toAgent`) and, with jitter, also from its nominal send time (`toAgentNominal`:
 *  the jitter the packet itself suffered included) */
interface Call {
  toAgent: number[];
  toAgentNominal: number[];
  toCaller: number[];
}

interface BridgeNode {
  protocol: "rtcgw" | "twilio";
  call(o: { jitterMs: number; bursts: number }): Promise<Call>;
  close(): Promise<void>;
}

/** a node and an agent for one protocol; `call()` places one bridged call on it */
async function bridgeNode(protocol: "rtcgw" | "twilio", seed: number): Promise<BridgeNode> {
  // the agent: timestamps the first loud frame after quiet; the bench sends bursts back through it
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => wss.once("listening", r));
  let current: { ws: WebSocket; onsets: number[]; streamSid: string } | undefined;
  wss.on("connection", (ws) => {
    const conn = { ws, onsets: [] as number[], streamSid: "" };
    current = conn;
    let loud = false;
    ws.on("message", (d, isBinary) => {
      let level: number | undefined;
      if (protocol === "rtcgw" && isBinary) {
        const b = d as Buffer;
        level = rms(new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)));
      } else if (!isBinary) {
        const m = JSON.parse(String(d));
        if (m.event === "start") conn.streamSid = m.streamSid;
        if (m.event === "media")
          level = rms(Int16Array.from(Buffer.from(m.media.payload, "base64"), (u) => ULAW[u]!));
      }
      if (level === undefined) return;
      if (level > 3000 && !loud) conn.onsets.push(now());
      loud = level > 3000;
    });
  });
  const agentUrl = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/`;
  const config = loadConfig({
    RTCGW_NODE_SECRET: "bench-secret-0123456789abcdef",
    RTCGW_BRIDGE_ALLOW: agentUrl,
    RECORDINGS_DIR: "/tmp",
    LOG_LEVEL: "silent",
  });
  const { node, registry } = await startLocalNode({ config, logger: createLogger({ level: "silent" }) });
  const rand = mulberry32(seed);
  let n = 0;

  async function call({ jitterMs, bursts }: { jitterMs: number; bursts: number }): Promise<Call> {
    const c = await ClientPeer.create({ direction: "sendrecv", dataChannel: false, autoSend: false });
    const sessionId = `bench${Date.now()}${protocol}${n++}`.padEnd(20, "x");
    await registry.createSession({
      id: sessionId,
      nodeId: node.id,
      kind: "session",
      profile: "bridge",
      tokenHash: "a".repeat(64),
      state: "new",
      etag: "e0",
      ttlMs: 60_000,
    });
    const before = current;
    const body = JSON.stringify({
      sessionId,
      kind: "session",
      profile: "bridge",
      offer: c.offer,
      bridgeUrl: agentUrl,
      bridgeProtocol: protocol,
    });
    const path = "/internal/sessions";
    const res = await fetch(node.controlUrl + path, {
      method: "POST",
      headers: {
        ...signRequest(node.secret, node.id, "POST", path, body),
        "content-type": "application/json",
      },
      body,
    });
    if (res.status !== 201) throw new Error(`bridge session: ${res.status} ${await res.text()}`);
    c.accept(((await res.json()) as { answer: string }).answer);
    await c.connected(5000);
    while (current === before) await sleep(10);
    const agent = current!;

    // caller → agent: Opus silence with a 100 ms burst every EVERY_MS. With jitter, each packet
    // is handed to libdatachannel a uniform 0..jitterMs after its nominal time (as netem's or
    // udp-impair's --jitter: packets overtake each other when the draws differ by > 20 ms).
    const enc = new Encoder({ channels: 1, sample_rate: 48000, application: "voip" });
    const silence = Buffer.from(enc.encode(new Int16Array(960)));
    const tone = Array.from({ length: 5 }, (_, f) =>
      Buffer.from(
        enc.encode(
          Int16Array.from({ length: 960 }, (_, i) =>
            Math.round(12000 * Math.sin((2 * Math.PI * 440 * (f * 960 + i)) / 48000)),
          ),
        ),
      ),
    );
    const framesTotal = (bursts * EVERY_MS) / 20 + 25;
    const plan = Array.from({ length: framesTotal }, (_, i) => {
      const k = i % (EVERY_MS / 20);
      const inBurst = i >= 25 && k < 5;
      return { i, inBurst, first: inBurst && k === 0, delay: jitterMs ? rand() * jitterMs : 0 };
    });
    const order = [...plan].sort((a, b) => a.i * 20 + a.delay - (b.i * 20 + b.delay));
    const nominal = new Map<number, number>();
    const handed = new Map<number, number>();
    const start = now();
    for (const p of order) {
      while (now() < start + p.i * 20 + p.delay) await sleep(1);
      const payload = p.inBurst ? tone[p.i % (EVERY_MS / 20)]! : silence;
      const rtp = Buffer.alloc(12 + payload.length);
      rtp[0] = 0x80;
      rtp[1] = 111;
      rtp.writeUInt16BE((1000 + p.i) & 0xffff, 2);
      rtp.writeUInt32BE((p.i * 960) >>> 0, 4);
      rtp.writeUInt32BE(c.ssrc, 8);
      payload.copy(rtp, 12);
      if (p.first) {
        nominal.set(p.i, start + p.i * 20);
        handed.set(p.i, now());
      }
      c.track.sendMessageBinary(rtp);
    }
    await sleep(300);
    const firsts = plan.filter((p) => p.first).map((p) => p.i);
    const toAgent = pairUp(
      firsts.map((i) => handed.get(i)!),
      agent.onsets,
    );
    const toAgentNominal = pairUp(
      firsts.map((i) => nominal.get(i)!),
      agent.onsets,
    );

    // agent → caller: 100 ms of tone every EVERY_MS, as fast as the agent has it
    const rate = protocol === "twilio" ? 8000 : 16000;
    const burst = Int16Array.from({ length: rate / 10 }, (_, i) =>
      Math.round(12000 * Math.sin((2 * Math.PI * 600 * i) / rate)),
    );
    const agentSent: number[] = [];
    const from = c.arrivals.length;
    for (let b = 0; b < bursts; b++) {
      await sleep(EVERY_MS);
      agentSent.push(now());
      if (protocol === "rtcgw") agent.ws.send(Buffer.from(burst.buffer));
      else {
        const mu = Buffer.from(burst.map((s) => linearToUlawByte(s)));
        agent.ws.send(
          JSON.stringify({
            event: "media",
            streamSid: agent.streamSid,
            media: { payload: mu.toString("base64") },
          }),
        );
      }
    }
    await sleep(500);
    const { samples } = c.receivedPcm();
    const heard: number[] = [];
    let loud = false;
    let prevAt = 0;
    for (let i = from; i < c.arrivals.length; i++) {
      const a = c.arrivals[i]!;
      // DTX: the node sends nothing between bursts; a gap in arrivals is the quiet between them
      if (a.at - prevAt > 30) loud = false;
      prevAt = a.at;
      const end = c.arrivals[i + 1]?.pcmOffset ?? samples.length;
      const level = rms(samples.subarray(a.pcmOffset, end));
      if (level > 2000 && !loud) heard.push(a.at - performance.timeOrigin);
      loud = level > 2000;
    }
    const toCaller = pairUp(agentSent, heard);
    const path2 = `/internal/sessions/${sessionId}`;
    await fetch(node.controlUrl + path2, {
      method: "DELETE",
      headers: signRequest(node.secret, node.id, "DELETE", path2, ""),
    });
    await c.close();
    return { toAgent, toAgentNominal, toCaller };
  }

  return {
    protocol,
    call,
    close: async () => {
      await node.close();
      await new Promise((r) => wss.close(r));
    },
  };
}

/** deterministic uniform draws in [0, 1) (mulberry32), so two runs jitter alike */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** each send matched with the first onset after it and before the next send */
function pairUp(sent: number[], seen: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < sent.length; i++) {
    const next = sent[i + 1] ?? Number.POSITIVE_INFINITY;
    const o = seen.find((t) => t >= sent[i]! && t < next);
    if (o !== undefined) out.push(o - sent[i]!);
  }
  return out;
}

function linearToUlawByte(sample: number): number {
  const BIAS = 0x84;
  const sign = sample < 0 ? 0x80 : 0;
  let s = Math.min(Math.abs(sample), 32635) + BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  s = ~(sign | (exponent << 4) | mantissa) & 0xff;
  return s;
}

// The bridge runs come first: the first call on the first node is a call on a cold process (no
// code of the node has run yet but its start); later calls and the second node run warm.
const CALLS = Number(process.env.CALLS ?? 3);
const JITTER_MS = Number(process.env.JITTER_MS ?? 30);
interface ProtocolRun {
  calls: Call[];
  jitter: Call;
}
const runs: Partial<Record<"rtcgw" | "twilio", ProtocolRun>> = {};
for (const [k, protocol] of (["rtcgw", "twilio"] as const).entries()) {
  const bn = await bridgeNode(protocol, 1 + k);
  const calls: Call[] = [];
  for (let i = 0; i < CALLS; i++) calls.push(await bn.call({ jitterMs: 0, bursts: BURSTS }));
  const jitter = await bn.call({ jitterMs: JITTER_MS, bursts: BURSTS });
  await bn.close();
  runs[protocol] = { calls, jitter };
}
const anchors = { bareRtp: await bareRtpHop(), bareWs: await bareWebSocket() };

const first = (xs: number[]) => (xs.length ? `${xs[0]!.toFixed(1)} ms` : "—");
console.log(
  `\nbench:bridge — one-way latency, one process, ${BURSTS} bursts per direction per call (provisional: shared machine, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")})`,
);
console.log(`  anchor  bare RTP hop (node-datachannel → node-datachannel)  ${fmt(anchors.bareRtp)}`);
console.log(`  anchor  bare WebSocket message (ws → ws)                      ${fmt(anchors.bareWs)}`);
for (const p of ["rtcgw", "twilio"] as const) {
  const r = runs[p]!;
  const later = r.calls.slice(1);
  const all = (f: (c: Call) => number[]) => later.flatMap(f);
  console.log(
    `  ${p}  (node ${p === "rtcgw" ? "1: started in a cold process" : "2: started in a warm process"})`,
  );
  console.log(
    `    call 1          caller → agent  ${fmt(r.calls[0]!.toAgent)}   first burst ${first(r.calls[0]!.toAgent)}`,
  );
  console.log(
    `    calls 2–${CALLS}       caller → agent  ${fmt(all((c) => c.toAgent))}   first bursts ${later.map((c) => first(c.toAgent)).join(", ")}`,
  );
  console.log(
    `    call 1          agent → caller  ${fmt(r.calls[0]!.toCaller)}   first burst ${first(r.calls[0]!.toCaller)}`,
  );
  console.log(
    `    calls 2–${CALLS}       agent → caller  ${fmt(all((c) => c.toCaller))}   first bursts ${later.map((c) => first(c.toCaller)).join(", ")}`,
  );
  console.log(
    `    ${JITTER_MS} ms jitter    caller → agent  ${fmt(r.jitter.toAgent)}  (from the packet's hand-off)`,
  );
  console.log(
    `    ${JITTER_MS} ms jitter    caller → agent  ${fmt(r.jitter.toAgentNominal)}  (from its nominal send: its own jitter included)`,
  );
  console.log(
    `    ${JITTER_MS} ms jitter    agent → caller  ${fmt(r.jitter.toCaller)}  (no jitter this way)`,
  );
}
process.exit(0);
