// What one agent (or one caller) that misbehaves may cost a bridged call and the node, each case
// provoked for real: a real node, real `ws` agents on loopback, real node-datachannel callers.
//   - an agent that accepts and then closes every socket (1008, 4001, 1005, a reset, a message over
//     1 MiB → 1009) is one outage: the backoff grows, the window counts from its first drop, the
//     call ends `agent-gone` at the window (it used to be redialed ~10×/s for ever)
//   - a socket that stayed open (BRIDGE_STABLE_MS) ends its outage: a later drop gets a new window
//   - an agent that does not read is closed (1008) once BRIDGE_MAX_UNREAD_BYTES wait unsent, and
//     redialed (marks and texts used to be written without bound: 1 GB, 400 MB)
//   - a caller's text over 64 Ki characters is refused, counted, and the caller told
//   - marks pending beyond MAX_PENDING_MARKS are the agent's protocol error, not queued
import type { IncomingMessage } from "node:http";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { createLogger, sessionLogger } from "../../src/log/index.js";
import { MAX_PENDING_MARKS } from "../../src/node/bridge/agent-bridge.js";
import {
  AppSocket,
  type AppSocketOptions,
  BRIDGE_MAX_MESSAGE_BYTES,
  BRIDGE_MAX_UNREAD_BYTES,
} from "../../src/node/bridge/app-socket.js";
import { RtcgwProtocol } from "../../src/node/bridge/rtcgw.js";
import { ClientPeer } from "../support/client-peer.js";
import { type Harness, startHarness, waitFor } from "./harness.js";

const WINDOW_S = 2;

interface Conn {
  ws: WebSocket;
  path: string;
  at: number;
  texts: Array<Record<string, unknown>>;
  closed?: { code: number; reason: string; at: number };
}

/** an agent server; `behave` decides what each connection does, by its path */
async function agentServer(behave: (c: Conn, req: IncomingMessage) => void = () => {}) {
  const conns: Conn[] = [];
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((r) => wss.once("listening", r));
  wss.on("connection", (ws, req) => {
    const c: Conn = { ws, path: req.url ?? "/", at: Date.now(), texts: [] };
    conns.push(c);
    ws.on("message", (data, isBinary) => {
      if (!isBinary) c.texts.push(JSON.parse(String(data)));
    });
    ws.on("close", (code, reason) => {
      c.closed = { code, reason: reason.toString(), at: Date.now() };
    });
    behave(c, req);
  });
  const port = (wss.address() as { port: number }).port;
  return { wss, conns, url: (path = "/") => `ws://127.0.0.1:${port}${path}` };
}

async function closeServer(wss: WebSocketServer): Promise<void> {
  for (const c of wss.clients) c.terminate();
  await new Promise<void>((r) => wss.close(() => r()));
}

/** the first value of a counter whose labels include `labels`, from a /metrics text (0 if absent) */
function counter(text: string, name: string, labels = ""): number {
  for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} ([\\d.e+-]+)$`, "gm")))
    if (m[1]!.includes(labels)) return Number(m[2]);
  return 0;
}

/** a log destination whose lines land in `lines`, parsed */
function capture(lines: Array<Record<string, unknown>>): Writable {
  return new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
}

/** the closes an agent that refuses the call may use, each once the node's first message is in */
const REFUSALS: Record<string, (ws: WebSocket) => void> = {
  "close-1008": (ws) => ws.close(1008, "refused"),
  "close-4001": (ws) => ws.close(4001, "bad token"),
  "close-1005": (ws) => ws.close(), // a close frame without a code: the node reads 1005
  reset: (ws) => ws.terminate(), // no close frame: the TCP connection just goes
  "too-big": (ws) => ws.send(Buffer.alloc(BRIDGE_MAX_MESSAGE_BYTES + 2)), // the node closes 1009
};

let h: Harness;
let agent: Awaited<ReturnType<typeof agentServer>>;

beforeAll(async () => {
  agent = await agentServer((c) => {
    const refuse = REFUSALS[c.path.slice(1).split("?")[0]!];
    if (refuse) c.ws.once("message", () => refuse(c.ws));
    if (c.path === "/unread" && agent.conns.filter((k) => k.path === "/unread").length === 1) {
      // an agent that does not read what the node sends, and floods marks (each answered at once:
      // nothing of its audio is queued); its redial is read
      c.ws.pause();
      const name = "m".repeat(250);
      // once the socket has stayed open the window (stable): the close is then an outage of its
      // own. Flooded at once, a busy machine could close it past the window that the session's
      // first socket has from the dial (the call then rightly ends agent-gone): CI saw that
      const flood = () => {
        for (let i = 0; i < 60_000; i++) c.ws.send(`{"type":"mark","name":"${name}"}`);
      };
      setTimeout(flood, WINDOW_S * 1000 + 200);
    }
  });
  h = await startHarness({
    RTCGW_BRIDGE_ALLOW: agent.url(),
    RTCGW_BRIDGE_RECONNECT_S: String(WINDOW_S),
  });
});
afterAll(async () => {
  await h?.close();
  await closeServer(agent.wss);
});

async function bridged(path: string, o: { protocol?: "rtcgw" | "twilio"; dataChannel?: boolean } = {}) {
  const c = await ClientPeer.create({
    direction: "sendrecv",
    toneHz: 440,
    dataChannel: o.dataChannel ? "chat" : false,
  });
  const r = await h.createSession(c.offer, {
    profile: "bridge",
    body: { bridgeUrl: agent.url(path), ...(o.protocol ? { bridgeProtocol: o.protocol } : {}) },
  });
  expect(r.status).toBe(201);
  c.accept(r.json.answer);
  await c.connected(5000);
  if (o.dataChannel) await c.channelOpen(5000);
  return { c, sessionId: r.sessionId };
}

/** the node's status of a live session; a session that has ended says why (its registry tombstone) */
const status = async (sessionId: string) => {
  const r = await h.call("GET", `/internal/sessions/${sessionId}`);
  if (r.status === 200) return r.json;
  const end = await h.registry.getTombstone(sessionId);
  throw new Error(`status ${r.status} for ${sessionId}: ${end ? `ended "${end.reason}"` : r.text}`);
};
const metrics = async () => (await fetch(`${h.node.controlUrl}/metrics`)).text();

describe("an agent that accepts and then closes every socket: one outage, bounded by the window", () => {
  it.each([
    ["close-1008", "rtcgw"],
    ["close-4001", "twilio"],
    ["close-1005", "rtcgw"],
    ["reset", "rtcgw"],
    ["too-big", "rtcgw"],
  ] as const)(
    "%s (%s): redialed with a growing backoff, the call ends agent-gone at RTCGW_BRIDGE_RECONNECT_S, the caller told a bounded number of times",
    async (path, protocol) => {
      const m0 = await metrics();
      const t0 = Date.now();
      const { c, sessionId } = await bridged(`/${path}`, { protocol, dataChannel: true });
      await waitFor(
        async () => (await h.call("GET", `/internal/sessions/${sessionId}`)).status === 404,
        WINDOW_S * 1000 + 4000,
        "the call to end",
      );
      const endedAfter = Date.now() - t0;
      // the window counts from the session's start (no socket ever stayed open), not from each drop
      expect(endedAfter).toBeGreaterThanOrEqual(WINDOW_S * 1000 - 50);
      expect(endedAfter).toBeLessThan(WINDOW_S * 1000 + 2500);
      const dials = agent.conns.filter((k) => k.path === `/${path}`);
      // 100, 200, 400, 800 ms, then what is left of the window: ~6 dials (it was ~10 a second)
      expect(dials.length).toBeGreaterThanOrEqual(4);
      expect(dials.length).toBeLessThanOrEqual(8);
      const gaps = dials.slice(1).map((d, i) => d.at - dials[i]!.at);
      for (let i = 1; i < 3; i++) expect(gaps[i]!, `gaps ${gaps}`).toBeGreaterThan(gaps[i - 1]! * 1.3);
      // every reopened socket says start again, resumed: the same call goes on
      if (protocol === "rtcgw") expect(dials[1]!.texts[0]).toMatchObject({ type: "start", resumed: true });
      // the caller's notices: gone/back per drop, as many as the dials at most (it got hundreds)
      const notices = c.messages.map((m) => JSON.parse(String(m)));
      expect(notices.every((n) => n.type === "rtcgw.agent")).toBe(true);
      expect(notices.length).toBeLessThanOrEqual(2 * dials.length);
      let m1 = "";
      await waitFor(
        async () => {
          m1 = await metrics();
          return (
            counter(m1, "rtcgw_bridge_sessions_total", 'outcome="failed"') >
            counter(m0, "rtcgw_bridge_sessions_total", 'outcome="failed"')
          );
        },
        3000,
        "the failed leg counted",
      );
      const delta = (name: string, labels = "") => counter(m1, name, labels) - counter(m0, name, labels);
      expect(delta("rtcgw_session_teardowns_total", 'reason="agent-gone"')).toBe(1);
      // a message over the limit is the agent's protocol error (each socket got one)
      expect(delta("rtcgw_bridge_protocol_errors_total")).toBe(path === "too-big" ? dials.length : 0);
      await c.close();
    },
  );
});

describe("AppSocket: when an outage is over", () => {
  const quiet = createLogger({ level: "silent" });
  /** an rtcgw-protocol AppSocket to `url`; `ended()` is the reason its leg ended with, if it has */
  const watched = (o: Pick<AppSocketOptions, "url" | "sessionId"> & Partial<AppSocketOptions>) => {
    let ended: string | undefined;
    const s = new AppSocket({
      log: quiet,
      protocol: new RtcgwProtocol({ rate: 16000 }),
      onCommand: () => {},
      onLeg: (e) => {
        if (e.type === "ended") ended = e.reason;
      },
      ...o,
    });
    return { s, ended: () => ended };
  };

  it("a socket that stayed open ends its outage: the next drop is redialed at once and gets a window of its own", async () => {
    const a = await agentServer((c) => setTimeout(() => c.ws.close(4000, "restart"), 900));
    const { s, ended } = watched({
      url: a.url(),
      sessionId: "s-stable",
      reconnectMs: 600, // the sockets stay up 900 ms: longer than the window, so each proves stable
    });
    try {
      await waitFor(() => a.conns.length >= 4, 5000, "four sockets");
      // 3 drops over ~3 s, five windows of 600 ms: the call goes on
      expect(ended()).toBeUndefined();
      expect(s.stats()).toMatchObject({ failed: false, reconnects: 3 });
      // the backoff started again from its first step after each stable socket
      for (let i = 1; i < a.conns.length; i++)
        expect(a.conns[i]!.at - a.conns[i - 1]!.closed!.at).toBeLessThan(300);
    } finally {
      s.close("test over");
      await closeServer(a.wss);
    }
  });

  it("a socket open as long as it must be to be stable is stable even when its drop comes before its timer could run (a busy event loop): the drop gets a window of its own", async () => {
    const a = await agentServer((c) => {
      if (a.conns.length === 1) c.ws.pause(); // the first socket is not read: the node closes it
    });
    const { s, ended } = watched({
      url: a.url(),
      sessionId: "s-busy",
      reconnectMs: 600, // and so stable at 600 ms
      maxUnreadBytes: 64 * 1024,
    });
    try {
      await waitFor(() => s.state === "open", 3000, "open");
      // the event loop is held past the window (counted from the dial) and the socket's stable
      // time; then, in the same turn, the node closes the socket for not reading: its drop is
      // handled (a microtask) before the stable timer can run
      const until = Date.now() + 700;
      while (Date.now() < until) {}
      const text = "t".repeat(60_000);
      for (let i = 0; i < 2000 && s.stats().closedNotReading === 0; i++) s.callerText(text);
      expect(s.stats().closedNotReading).toBe(1);
      await waitFor(() => a.conns.length === 2 && s.state === "open", 3000, "the redial");
      expect(ended()).toBeUndefined();
      expect(s.stats()).toMatchObject({ failed: false, reconnects: 1 });
    } finally {
      s.close("test over");
      await closeServer(a.wss);
    }
  });

  it("an agent that keeps closing: one warning for the outage (the rest at debug), the reason says what happened", async () => {
    const a = await agentServer((c) => c.ws.once("message", () => c.ws.close(1008, "no")));
    const lines: Array<Record<string, unknown>> = [];
    const log = sessionLogger(createLogger({ level: "debug", destination: capture(lines) }), "s-outage");
    const { s, ended } = watched({ url: a.url(), sessionId: "s-outage", log, reconnectMs: 1500 });
    try {
      await waitFor(() => ended() !== undefined, 4000, "the end of the window");
      expect(ended()).toMatch(/the agent's socket dropped \d+ times and did not stay open within 1\.5 s/);
      const at = (level: string, event: string) =>
        lines.filter((l) => l.level === level && l.event === event).length;
      expect(a.conns.length).toBeGreaterThanOrEqual(4);
      expect(at("warn", "bridge_lost")).toBe(1);
      expect(at("debug", "bridge_lost")).toBe(a.conns.length - 1);
      expect(at("info", "bridge_back")).toBe(1);
      expect(at("debug", "bridge_back")).toBe(a.conns.length - 2);
      expect(at("warn", "bridge_failed")).toBe(1);
      expect(lines.every((l) => l.sessionId === "s-outage")).toBe(true);
    } finally {
      s.close("test over");
      await closeServer(a.wss);
    }
  });
});

describe("an agent that does not read", () => {
  it("AppSocket: once the unread bytes pass the bound the socket is closed 1008 (said to the agent, logged with the session, counted) and redialed; the buffer never grew past it", async () => {
    let maxBuffered = 0;
    const send = WebSocket.prototype.send;
    // what the node's side of the socket holds unsent, after every write
    WebSocket.prototype.send = function (this: WebSocket, ...args: Parameters<WebSocket["send"]>) {
      send.apply(this, args);
      maxBuffered = Math.max(maxBuffered, this.bufferedAmount);
    } as WebSocket["send"];
    const a = await agentServer((c) => {
      if (a.conns.length === 1) c.ws.pause(); // the first socket is not read
    });
    const lines: Array<Record<string, unknown>> = [];
    const log = sessionLogger(createLogger({ level: "info", destination: capture(lines) }), "s-unread");
    const limit = 256 * 1024;
    const s = new AppSocket({
      url: a.url(),
      sessionId: "s-unread",
      log,
      protocol: new RtcgwProtocol({ rate: 16000 }),
      onCommand: () => {},
      maxUnreadBytes: limit,
    });
    try {
      await waitFor(() => s.state === "open", 3000, "open");
      const text = "t".repeat(60_000);
      // the caller's texts and the agent's mark answers: kinds that had no bound
      for (let i = 0; i < 2000 && s.stats().closedNotReading === 0; i++) {
        s.callerText(text);
        s.notify({ type: "mark", name: "m".repeat(256) });
      }
      expect(s.stats().closedNotReading).toBe(1);
      expect(maxBuffered).toBeLessThanOrEqual(limit + 61_000);
      // the agent reads again: what was sent, then the close and why
      a.conns[0]!.ws.resume();
      await waitFor(() => a.conns[0]!.closed !== undefined, 3000, "the first socket closed");
      expect(a.conns[0]!.closed).toMatchObject({ code: 1008, reason: expect.stringMatching(/not reading/) });
      // then the usual drop: redialed, resumed, the call goes on
      await waitFor(() => a.conns.length === 2 && a.conns[1]!.texts.length > 0, 3000, "the redial");
      expect(a.conns[1]!.texts[0]).toMatchObject({ type: "start", resumed: true });
      await waitFor(() => s.state === "open", 3000, "open again");
      expect(s.stats()).toMatchObject({ closedNotReading: 1, reconnects: 1, failed: false });
      const warned = lines.filter((l) => l.event === "bridge_not_reading");
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatchObject({ sessionId: "s-unread", maxUnreadBytes: limit });
    } finally {
      WebSocket.prototype.send = send;
      s.close("test over");
      await closeServer(a.wss);
    }
  });

  it("a real call whose agent floods marks and never reads: its socket is closed and redialed, counted in the status and /metrics; the call goes on", async () => {
    const m0 = await metrics();
    const { c, sessionId } = await bridged("/unread");
    // 60 000 answers of ~280 bytes (16 MB) against a 4 MiB bound and the kernel's buffers
    expect(BRIDGE_MAX_UNREAD_BYTES).toBe(4 << 20);
    await waitFor(async () => (await status(sessionId)).bridge.closedNotReading >= 1, 8000, "the close");
    await waitFor(() => agent.conns.filter((k) => k.path === "/unread").length >= 2, 3000, "the redial");
    const st = await status(sessionId);
    expect(st.state).toBe("connected");
    expect(st.bridge.failed).toBe(false);
    await h.call("DELETE", `/internal/sessions/${sessionId}`);
    let m1 = "";
    await waitFor(
      async () => {
        m1 = await metrics();
        return (
          counter(m1, "rtcgw_bridge_closed_not_reading_total") >
          counter(m0, "rtcgw_bridge_closed_not_reading_total")
        );
      },
      3000,
      "the close counted",
    );
    await c.close();
  });
});

describe("the caller's texts and the agent's marks have a bound", () => {
  it("a caller's text over 64 Ki characters is refused (the caller told, counted); one of 64 Ki reaches the agent", async () => {
    const m0 = await metrics();
    const before = agent.conns.length;
    const { c, sessionId } = await bridged("/texts", { dataChannel: true });
    await waitFor(() => agent.conns.length > before && agent.conns[before]!.texts.length > 0, 3000, "start");
    const a = agent.conns[before]!;
    c.sendText("x".repeat(64 * 1024 + 1));
    const notice = JSON.parse(String(await c.message(0)));
    expect(notice).toEqual({
      type: "rtcgw.text-refused",
      reason: "too-long",
      chars: 64 * 1024 + 1,
      maxChars: 64 * 1024,
    });
    c.sendText("y".repeat(64 * 1024));
    await waitFor(() => a.texts.some((t) => t.type === "message"), 3000, "the text at the agent");
    const got = a.texts.filter((t) => t.type === "message");
    expect(got).toHaveLength(1);
    expect((got[0]!.data as string).length).toBe(64 * 1024);
    expect((await status(sessionId)).bridge.callerTextsRefused).toBe(1);
    await h.call("DELETE", `/internal/sessions/${sessionId}`);
    await waitFor(
      async () =>
        counter(await metrics(), "rtcgw_bridge_caller_texts_refused_total") -
          counter(m0, "rtcgw_bridge_caller_texts_refused_total") ===
        1,
      3000,
      "the refusal counted",
    );
    await c.close();
  });

  it(`marks: ${MAX_PENDING_MARKS} may wait for their audio; one more is the agent's protocol error, not queued nor answered; a clear answers the ${MAX_PENDING_MARKS} and frees the room`, async () => {
    const before = agent.conns.length;
    const { c, sessionId } = await bridged("/marks");
    await waitFor(() => agent.conns.length > before && agent.conns[before]!.texts.length > 0, 3000, "start");
    const a = agent.conns[before]!;
    const audio = Buffer.alloc(16000 * 2 * 10, 0x10); // 10 s queued: the marks wait for it
    a.ws.send(audio);
    for (let i = 0; i < MAX_PENDING_MARKS + 5; i++)
      a.ws.send(JSON.stringify({ type: "mark", name: `m${i}` }));
    await waitFor(
      async () => {
        const b = (await status(sessionId)).bridge;
        return b.marks + b.protocolErrors === MAX_PENDING_MARKS + 5;
      },
      3000,
      "every mark read",
    );
    expect((await status(sessionId)).bridge).toMatchObject({ marks: MAX_PENDING_MARKS, protocolErrors: 5 });
    a.ws.send(JSON.stringify({ type: "clear" }));
    const answers = () => a.texts.filter((t) => t.type === "mark");
    await waitFor(() => answers().length === MAX_PENDING_MARKS, 3000, "the marks answered by the clear");
    expect(answers().map((t) => t.name)).toEqual(
      Array.from({ length: MAX_PENDING_MARKS }, (_, i) => `m${i}`),
    );
    // the room is free again: as many marks behind new audio are taken
    a.ws.send(audio);
    for (let i = 0; i < MAX_PENDING_MARKS; i++) a.ws.send(JSON.stringify({ type: "mark", name: `n${i}` }));
    await waitFor(
      async () => (await status(sessionId)).bridge.marks === 2 * MAX_PENDING_MARKS,
      3000,
      "the second round of marks",
    );
    expect((await status(sessionId)).bridge.protocolErrors).toBe(5);
    await h.call("DELETE", `/internal/sessions/${sessionId}`);
    await c.close();
  });
});
