// The load generator (its own process): N node-datachannel client peers, each sending the same
// pre-encoded Opus tone at 50 packets/s (encoded once, replayed: the generator stays cheap beside
// the node on the same cores), sessions created through the signed control API.
// Timeline, reported as JSON lines on stdout: CONNECTED → WINDOW_START → WINDOW_END → RESULT.
// With `anchorUrl` the same clients talk to an anchor server of bench/anchors/ instead (its
// POST /offer, GET /stats, DELETE /sessions/:id), so every server is driven by the same load.
// With `clientDecode` every client decodes what comes back and counts the samples (the audio
// completeness toward the client; costs the generator ~40 µs per packet).
//
//   tsx bench/load/generator.ts '{"controlUrls":["http://127.0.0.1:9090"],"secret":"…","n":100,"profile":"echo","durationS":10}'
import { randomBytes } from "node:crypto";
import { signRequest } from "../../src/control/hmac.js";
import { ClientPeer } from "../../test/support/client-peer.js";
import { busyLine } from "./busy-line.js";

interface Args {
  /** one or more nodes (supervisor workers): sessions are spread round-robin */
  controlUrls: string[];
  secret: string;
  n: number;
  profile: "echo" | "record" | "blackhole" | "bridge";
  durationS: number;
  /** an anchor server (bench/anchors/serve.ts) instead of rtcgw's control API */
  anchorUrl?: string;
  /** clients send and receive (anchor echo modes); default: echo and bridge do */
  sendrecv?: boolean;
  /** rtcgw bridge profile: the application's WebSocket URL */
  bridgeUrl?: string;
  /** rtcgw bridge profile: the protocol spoken on it (default the node's: rtcgw) */
  bridgeProtocol?: "rtcgw" | "twilio";
  clientDecode?: boolean;
  /** keep the client's host candidates in the offer (werift and aiortc need them to connect) */
  offerCandidates?: boolean;
  /** sessions set up concurrently */
  concurrency?: number;
}

interface ServerStats {
  packetsIn: number;
  packetsOut: number;
  late: number;
  lost: number;
  concealedMs: number;
  /** audio the server decoded from each session (16 kHz samples; anchors) or handed to the
   *  bridge's application (rtcgw bridge frames × 320), by session id; absent when not known */
  samplesIn: Record<string, number>;
}

const args = JSON.parse(process.argv[2]!) as Args;
const emit = (type: string, data: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ type, ...data })}\n`);

const nodeOf = new Map<string, string>();
/** control URL → node id: requests are signed for their node; /metrics (unsigned) labels it */
const nodeIds = new Map<string, string>();
async function nodeIdAt(base: string): Promise<string> {
  let id = nodeIds.get(base);
  if (!id) {
    const text = await (await fetch(`${base}/metrics`)).text();
    id = /\bnode="([^"]+)"/.exec(text)?.[1];
    if (!id) throw new Error(`${base}/metrics names no node`);
    nodeIds.set(base, id);
  }
  return id;
}
let rr = 0;
async function control(method: string, path: string, body?: unknown, sessionId?: string) {
  const text = body === undefined ? "" : JSON.stringify(body);
  const id = sessionId ?? path.split("/")[3];
  let base = id ? nodeOf.get(id) : undefined;
  if (!base) {
    base = args.controlUrls[rr++ % args.controlUrls.length]!;
    if (id) nodeOf.set(id, base);
  }
  const res = await fetch(base + path, {
    method,
    headers: {
      ...signRequest(args.secret, await nodeIdAt(base), method, path, text),
      ...(text ? { "content-type": "application/json" } : {}),
    },
    ...(text ? { body: text } : {}),
  });
  const t = await res.text();
  return {
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    json: t ? JSON.parse(t) : undefined,
  };
}

interface Session {
  id: string;
  peer: ClientPeer;
  connected: boolean;
}

const sendrecv = args.sendrecv ?? (args.profile === "echo" || args.profile === "bridge");

/** the node's limit as a client sees it: sessions it had accepted (201) when it first answered
 *  503, and the offers it still refused after every retry */
let acceptedNow = 0;
let firstBusyAt: number | undefined;
let refused = 0;
/** every 503 answer (retries included) by the load guard's line that drew it: which one trips */
const busyLines: Record<string, number> = {};
const countBusy = (r: { status: number; json?: { error?: string; reason?: string } }) => {
  if (r.status !== 503) return;
  const line = busyLine(r);
  busyLines[line] = (busyLines[line] ?? 0) + 1;
};

async function openAnchor(): Promise<Session | undefined> {
  const peer = await ClientPeer.create({
    direction: sendrecv ? "sendrecv" : "sendonly",
    decode: args.clientDecode ? "count" : false,
    dataChannel: false,
    offerCandidates: args.offerCandidates ?? false,
  });
  const res = await fetch(`${args.anchorUrl}/offer`, {
    method: "POST",
    body: JSON.stringify({ sdp: peer.offer }),
  });
  if (res.status !== 201) {
    await peer.close();
    return undefined;
  }
  const { id, answer } = (await res.json()) as { id: string; answer: string };
  peer.accept(answer);
  try {
    await peer.connected(20_000);
    return { id, peer, connected: true };
  } catch {
    await peer.close();
    await fetch(`${args.anchorUrl}/sessions/${id}`, { method: "DELETE" });
    return undefined;
  }
}

async function open(): Promise<Session | undefined> {
  if (args.anchorUrl) return (await openAnchor()) ?? openAnchor(); // one retry, as a client would
  const kind = sendrecv ? "session" : "whip";
  const peer = await ClientPeer.create({
    direction: kind === "session" ? "sendrecv" : "sendonly",
    decode: args.clientDecode ? "count" : false,
    dataChannel: false,
  });
  const id = randomBytes(16).toString("base64url");
  // the anchors record a 16 kHz mono WAV: so does the bench
  const body = {
    sessionId: id,
    kind,
    profile: args.profile,
    offer: peer.offer,
    ...(args.profile === "record" ? { recordRate: 16000 } : {}),
    ...(args.bridgeUrl ? { bridgeUrl: args.bridgeUrl } : {}),
    ...(args.bridgeProtocol ? { bridgeProtocol: args.bridgeProtocol } : {}),
  };
  let r = await control("POST", "/internal/sessions", body, id);
  countBusy(r);
  if (r.status === 503) firstBusyAt ??= acceptedNow;
  // a busy node answers 503 + Retry-After: retry as a real client would, a few times
  for (let attempt = 0; r.status === 503 && attempt < 5; attempt++) {
    await new Promise((res) => setTimeout(res, Number(r.retryAfter ?? 1) * 1000));
    r = await control("POST", "/internal/sessions", body, id);
    countBusy(r);
  }
  if (r.status !== 201) {
    if (r.status === 503) refused++;
    await peer.close();
    return undefined;
  }
  acceptedNow++;
  peer.accept(r.json.answer);
  try {
    await peer.connected(20_000);
    return { id, peer, connected: true };
  } catch {
    await peer.close();
    await control("DELETE", `/internal/sessions/${id}`);
    return undefined;
  }
}

async function serverStats(sessions: Session[]): Promise<ServerStats> {
  const sum: ServerStats = { packetsIn: 0, packetsOut: 0, late: 0, lost: 0, concealedMs: 0, samplesIn: {} };
  if (args.anchorUrl) {
    const all = (
      (await (await fetch(`${args.anchorUrl}/stats`)).json()) as {
        sessions: Record<string, { packetsIn: number; packetsOut: number; samplesIn: number }>;
      }
    ).sessions;
    for (const s of sessions) {
      const st = all[s.id];
      if (!st) continue;
      sum.packetsIn += st.packetsIn;
      sum.packetsOut += st.packetsOut;
      sum.samplesIn[s.id] = st.samplesIn;
    }
    return sum;
  }
  for (const s of sessions) {
    const r = await control("GET", `/internal/sessions/${s.id}`);
    if (r.status !== 200) continue;
    const st = r.json.stats;
    sum.packetsIn += st.packetsIn;
    sum.packetsOut += st.packetsOut;
    sum.late += st.late;
    sum.lost += st.lost;
    sum.concealedMs += st.concealedMs;
    if (r.json.bridge) sum.samplesIn[s.id] = r.json.bridge.framesSent * 320;
  }
  return sum;
}

function clientStats(sessions: Session[]) {
  let sent = 0;
  let received = 0;
  let sendFailures = 0;
  let missing = 0;
  let skippedMs = 0;
  for (const s of sessions) {
    sent += s.peer.stats.packetsSent;
    received += s.peer.stats.packetsReceived;
    sendFailures += s.peer.stats.sendFailures;
    missing += s.peer.stats.lostReceived;
    skippedMs += s.peer.stats.skippedReceivedMs;
  }
  return { sent, received, sendFailures, missing, skippedMs };
}

async function main() {
  const t0 = Date.now();
  const sessions: Session[] = [];
  const concurrency = args.concurrency ?? 20;
  let failed = 0;
  for (let i = 0; i < args.n; i += concurrency) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(concurrency, args.n - i) }, () => open().catch(() => undefined)),
    );
    for (const s of batch) {
      if (s) sessions.push(s);
      else failed++;
    }
  }
  emit("CONNECTED", { sessions: sessions.length, failed, setupMs: Date.now() - t0 });
  // let every sender settle into its 20 ms rhythm
  await new Promise((r) => setTimeout(r, 2000));

  // audio completeness over the window: what went in against what came out between its two
  // edges, per session (the pipeline's steady delay cancels; a buffer's tail after the last packet
  // does not count as loss). Anchors report all sessions in one request: read at both edges.
  // The server's figures first, the clients' read the moment its answer is in: an HTTP round
  // trip (and a busy server's lag before it answers) between the two would count as loss.
  const snap = async () => {
    const server = args.anchorUrl ? (await serverStats(sessions)).samplesIn : {};
    return {
      server,
      sent: new Map(sessions.map((s) => [s.id, s.peer.stats.packetsSent])),
      decoded: new Map(sessions.map((s) => [s.id, s.peer.stats.samplesDecoded])),
    };
  };
  const w0 = await snap();
  emit("WINDOW_START");
  await new Promise((r) => setTimeout(r, args.durationS * 1000));
  emit("WINDOW_END");
  const w1 = await snap();

  // Loss is counted over each session's whole life, once traffic has stopped: exact totals on
  // both sides, no window-boundary error.
  for (const s of sessions) s.peer.stopSending();
  await new Promise((r) => setTimeout(r, 500)); // in-flight packets (and their echoes) land
  const c1 = clientStats(sessions);
  const s1 = await serverStats(sessions);
  // a recording is as long as the audio its client sent: from the first packet sent to the end of
  // the last (the clients stopped sending above; nothing after the last packet is recorded)
  const callSeconds: Record<string, number> = {};
  for (const s of sessions) {
    // recordings are finalised on DELETE
    if (args.anchorUrl) await fetch(`${args.anchorUrl}/sessions/${s.id}`, { method: "DELETE" });
    else await control("DELETE", `/internal/sessions/${s.id}`);
    const first = s.peer.firstSentAt;
    const last = s.peer.lastSentAt;
    callSeconds[s.id] = first !== undefined && last !== undefined ? (last - first + 20) / 1000 : 0;
  }
  await Promise.all(sessions.map((s) => s.peer.close()));

  const sentIn = c1.sent;
  const gotIn = s1.packetsIn;
  const sentOut = s1.packetsOut;
  const gotOut = c1.received;
  // loss toward the client as RTP receivers count it (RFC 3550 §6.4.1): sequence numbers
  // missing among those received. Comparing with the node's sent count instead would count the
  // packets the echo sends while the stats are being collected (it goes on until DELETE).
  // Frames the node skipped as too late (timestamp jumps, no sequence gap) are audio the
  // client never hears: counted as lost too, in 20 ms frames.
  const skippedOut = Math.round(c1.skippedMs / 20);
  const expectedOut = gotOut + c1.missing + skippedOut;
  // the worst call: the largest share of its return frames missing or skipped, over its life
  let worstLossOut: number | undefined;
  if (sendrecv)
    for (const s of sessions) {
      const lost = s.peer.stats.lostReceived + Math.round(s.peer.stats.skippedReceivedMs / 20);
      const expected = s.peer.stats.packetsReceived + lost;
      const l = expected > 0 ? lost / expected : 1;
      worstLossOut = Math.max(worstLossOut ?? 0, l);
    }
  // Audio completeness over the window, per session (mean and worst), each capped at 1
  const ratios = (f: (s: Session) => number | undefined) => {
    const r = sessions.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x));
    return r.length
      ? {
          mean: r.reduce((a, b) => a + Math.min(1, b), 0) / r.length,
          worst: Math.min(...r.map((x) => Math.min(1, x))),
        }
      : undefined;
  };
  const sentIn_ = (s: Session) => w1.sent.get(s.id)! - w0.sent.get(s.id)!;
  // 16 kHz samples the server decoded (anchors) against 320 per packet the client sent
  const audioIn = args.anchorUrl
    ? ratios((s) =>
        w1.server[s.id] === undefined || w0.server[s.id] === undefined || !sentIn_(s)
          ? undefined
          : (w1.server[s.id]! - w0.server[s.id]!) / (sentIn_(s) * 320),
      )
    : undefined;
  // 48 kHz samples the client decoded from the return direction against 960 per packet it sent
  const audioOut =
    args.clientDecode && sendrecv
      ? ratios((s) =>
          sentIn_(s) ? (w1.decoded.get(s.id)! - w0.decoded.get(s.id)!) / (sentIn_(s) * 960) : undefined,
        )
      : undefined;
  // rtcgw's bridge: 20 ms frames handed to the application over the session's life (≥ its call)
  const bridgeIn = !args.anchorUrl
    ? ratios((s) =>
        s1.samplesIn[s.id] === undefined || !s.peer.stats.packetsSent
          ? undefined
          : s1.samplesIn[s.id]! / (s.peer.stats.packetsSent * 320),
      )
    : undefined;
  emit("RESULT", {
    sessions: sessions.length,
    failed,
    clientSent: sentIn,
    clientSendFailures: c1.sendFailures,
    serverReceived: gotIn,
    lossIn: sentIn > 0 ? Math.max(0, 1 - gotIn / sentIn) : 0,
    serverSent: sentOut,
    clientReceived: gotOut,
    lossOut: expectedOut > 0 ? (c1.missing + skippedOut) / expectedOut : 0,
    ...(worstLossOut !== undefined ? { worstLossOut } : {}),
    refused,
    busyLines,
    ...(firstBusyAt !== undefined ? { firstBusyAt } : {}),
    skippedOut,
    missingOut: c1.missing,
    late: s1.late,
    lost: s1.lost,
    concealedMs: s1.concealedMs,
    audioIn: audioIn ?? bridgeIn,
    audioOut,
    callSeconds,
  });
}

main().then(
  () => setTimeout(() => process.exit(0), 100),
  (e) => {
    emit("ERROR", { message: (e as Error).message });
    process.exit(1);
  },
);
