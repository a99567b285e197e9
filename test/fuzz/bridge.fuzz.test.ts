// Fuzzing the bridge WebSocket messages from the agent into the node, bounded, both protocols
// (docs/bridge.md): valid messages with fuzzed fields (wrong types, huge/negative numbers, missing
// fields, unknown types/events, bad base64, odd-length and large binary audio, long and unicode
// mark names, clear storms), deeply nested JSON, non-JSON text, binary where text is expected and
// text sent as binary, and mutations of valid messages.
// - 10 000+ per protocol through the node's own AgentBridge + AppSocket over a real `ws` server
//   in-process (the leg has no media peer here: audio goes nowhere, marks are answered at once);
// - a few hundred per protocol through a real session: a real node, a real node-datachannel
//   caller, a real `ws` agent sending them; then DELETE leaves no session and no registry record.
// Every message: parse never throws, a broken message is counted in the leg's protocolErrors (and
// only those), the leg stays open and the session connected; a hangup ends the leg once.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { createLogger } from "../../src/log/index.js";
import { AgentBridge } from "../../src/node/bridge/agent-bridge.js";
import { BRIDGE_MAX_MESSAGE_BYTES } from "../../src/node/bridge/app-socket.js";
import { createProtocol } from "../../src/node/bridge/index.js";
import { type Harness, newSessionId, startHarness, waitFor } from "../node/harness.js";
import { ClientPeer } from "../support/client-peer.js";
import { FUZZ_SEED } from "./mutate.js";

type Proto = "rtcgw" | "twilio";
interface Msg {
  data: string | Buffer;
  binary: boolean;
}

/** messages per fast-check run (the unit boundary) and runs: ≥ 10 000 messages per protocol */
const RUNS = 1_000;
const MAX_PER_RUN = 20;
/** messages per protocol through a real session */
const SESSION_MESSAGES = 300;

const log = createLogger({ level: "silent" });
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

// ---- generators ----------------------------------------------------------------------------

const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.integer(),
  fc.constantFrom(-1, 0, 2 ** 53, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

/** a mark name: short, unicode, at the 256-character limit, or past it */
const markName = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "grapheme", maxLength: 60 }),
  fc.nat({ max: 3 }).map((d) => "é".repeat(256 + d - 1)),
  fc.nat({ max: 3 }).map((d) => "😀".repeat(127 + d)), // surrogate pairs: 2 UTF-16 units each
  fc.integer({ min: 1000, max: 100_000 }).map((n) => "x".repeat(n)),
);

const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 3 });
/** a field as the protocol wants it, or of another type, or absent */
const field = <T>(good: fc.Arbitrary<T>) =>
  fc.oneof(
    { weight: 4, arbitrary: good },
    { weight: 1, arbitrary: weird },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );

const nested = fc
  .record({
    // a 150 000-deep parse costs ~30 ms (V8 does not throw): a few of them, most shallower
    depth: fc.oneof(
      { weight: 30, arbitrary: fc.integer({ min: 1, max: 3_000 }) },
      { weight: 1, arbitrary: fc.integer({ min: 3_000, max: 150_000 }) },
    ),
    obj: fc.boolean(),
  })
  .map(({ depth, obj }) =>
    obj ? `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}` : `${"[".repeat(depth)}${"]".repeat(depth)}`,
  );

const nonJson = fc.oneof(
  fc.string({ maxLength: 50 }),
  fc.string({ unit: "binary", maxLength: 50 }),
  fc.constantFrom("", " ", "null", "1", '"mark"', "[]", "true", "{", '{"type":', "\uFEFF{}", "NaN"),
);

/** one edit of a valid message's text: cut, flip or insert a character */
const mutated = (valid: fc.Arbitrary<string>) =>
  fc
    .record({
      s: valid,
      op: fc.constantFrom("cut", "flip", "insert", "dup"),
      at: fc.nat(),
      ch: fc.string({ minLength: 1, maxLength: 3 }),
    })
    .map(({ s, op, at, ch }) => {
      const i = s.length ? at % s.length : 0;
      if (op === "cut") return s.slice(0, i);
      if (op === "flip") return s.slice(0, i) + ch + s.slice(i + 1);
      if (op === "insert") return s.slice(0, i) + ch + s.slice(i);
      return s + s;
    });

/** `max` bytes of noise from a seed (fast-check drawing every byte of 10 000+ audio messages costs seconds) */
const noise = (min: number, max: number) =>
  fc.record({ n: fc.integer({ min, max }), seed: fc.integer() }).map(({ n, seed }) => {
    const b = new Uint8Array(n);
    let x = seed | 1;
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[i] = x & 0xff;
    }
    return b;
  });

const bytes = fc.oneof(
  { weight: 8, arbitrary: noise(0, 4000) },
  { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 200_000 }).map((n) => new Uint8Array(n)) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 3, (1 << 20) - 1, 1 << 20).map((n) => new Uint8Array(n)) },
);

const text = (a: fc.Arbitrary<string>): fc.Arbitrary<Msg> => a.map((data) => ({ data, binary: false }));
const json = (a: fc.Arbitrary<Record<string, unknown>>) => a.map((o) => JSON.stringify(o));

const rtcgwValid = json(
  fc.oneof(
    fc.record({ type: fc.constant("mark"), name: fc.string({ maxLength: 20 }) }),
    fc.constant({ type: "clear" }),
    fc.record({ type: fc.constant("message"), data: fc.string({ maxLength: 40 }) }),
  ),
);
const rtcgwMsg: fc.Arbitrary<Msg> = fc.oneof(
  { weight: 3, arbitrary: bytes.map((b) => ({ data: Buffer.from(b), binary: true })) },
  {
    weight: 2,
    arbitrary: text(
      json(fc.record({ type: fc.constant("mark"), name: field(markName) }, { requiredKeys: ["type"] })),
    ),
  },
  { weight: 2, arbitrary: fc.constant({ data: '{"type":"clear"}', binary: false }) },
  {
    weight: 2,
    arbitrary: text(
      json(
        fc.record(
          {
            type: fc.constant("message"),
            data: field(
              fc.oneof(
                fc.string(),
                fc.integer({ min: 65_000, max: 70_000 }).map((n) => "m".repeat(n)),
              ),
            ),
          },
          { requiredKeys: ["type"] },
        ),
      ),
    ),
  },
  { weight: 2, arbitrary: text(json(fc.record({ type: weird, name: maybe(weird), data: maybe(weird) }))) },
  {
    weight: 1,
    arbitrary: text(
      fc
        .constantFrom("start", "stop", "audio", "played", "dtmf", "Hangup", "CLEAR")
        .map((type) => JSON.stringify({ type })),
    ),
  },
  { weight: 1, arbitrary: text(nested) },
  { weight: 2, arbitrary: text(nonJson) },
  { weight: 2, arbitrary: text(mutated(rtcgwValid)) },
  // text sent as a binary frame: audio to the rtcgw protocol (odd length: an error)
  { weight: 1, arbitrary: rtcgwValid.map((s) => ({ data: Buffer.from(s), binary: true })) },
);

const base64 = fc.oneof(
  { weight: 4, arbitrary: noise(0, 1600).map((b) => Buffer.from(b).toString("base64")) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) }, // mostly not base64
  {
    weight: 1,
    arbitrary: noise(1, 200).map((b) => Buffer.from(b).toString("base64").replace(/=+$/, "")),
  },
  {
    weight: 1,
    arbitrary: noise(0, 300).map((b) => Buffer.from(b).toString("base64url")),
  },
  { weight: 1, arbitrary: fc.integer({ min: 100_000, max: 700_000 }).map((n) => "A".repeat(n - (n % 4))) },
);
const twilioValid = json(
  fc.oneof(
    fc.record({ event: fc.constant("media"), streamSid: fc.string(), media: fc.record({ payload: base64 }) }),
    fc.record({
      event: fc.constant("mark"),
      streamSid: fc.string(),
      mark: fc.record({ name: fc.string({ maxLength: 20 }) }),
    }),
    fc.record({ event: fc.constant("clear"), streamSid: fc.string() }),
  ),
);
const twilioMsg: fc.Arbitrary<Msg> = fc.oneof(
  {
    weight: 3,
    arbitrary: text(
      json(
        fc.record(
          {
            event: fc.constant("media"),
            streamSid: field(fc.string()),
            media: field(fc.record({ payload: field(base64), track: maybe(weird) }, { requiredKeys: [] })),
          },
          { requiredKeys: ["event"] },
        ),
      ),
    ),
  },
  {
    weight: 2,
    arbitrary: text(
      json(
        fc.record(
          {
            event: fc.constant("mark"),
            sequenceNumber: maybe(weird),
            mark: field(fc.record({ name: field(markName) }, { requiredKeys: [] })),
          },
          { requiredKeys: ["event"] },
        ),
      ),
    ),
  },
  { weight: 2, arbitrary: text(json(fc.record({ event: fc.constant("clear"), streamSid: maybe(weird) }))) },
  { weight: 2, arbitrary: text(json(fc.record({ event: weird, media: maybe(weird), mark: maybe(weird) }))) },
  {
    weight: 1,
    arbitrary: text(
      fc
        .constantFrom("connected", "start", "stop", "dtmf", "hangup", "Media")
        .map((event) => JSON.stringify({ event, streamSid: "MZ0" })),
    ),
  },
  { weight: 1, arbitrary: text(nested) },
  { weight: 2, arbitrary: text(nonJson) },
  { weight: 2, arbitrary: text(mutated(twilioValid)) },
  // binary where Twilio has only text
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        bytes.map((b) => Buffer.from(b)),
        twilioValid.map((s) => Buffer.from(s)),
      )
      .map((data) => ({ data, binary: true })),
  },
);

/** within ws's maxPayload (BRIDGE_MAX_MESSAGE_BYTES): a larger one closes the socket (1009), a drop */
const fits = (m: Msg) => Buffer.byteLength(m.data) <= BRIDGE_MAX_MESSAGE_BYTES;
const GEN: Record<Proto, fc.Arbitrary<Msg>> = {
  rtcgw: rtcgwMsg.filter(fits),
  twilio: twilioMsg.filter(fits),
};

/** the command a message should be, by docs/bridge.md, where that can be told from its text alone */
function oracle(p: Proto, m: Msg): string | undefined {
  if (m.binary) {
    if (p === "twilio") return "error";
    return (m.data as Buffer).length % 2 === 0 ? "audio" : "error";
  }
  let o: unknown;
  try {
    o = JSON.parse(m.data as string);
  } catch {
    return "error";
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) return "error";
  const r = o as Record<string, unknown>;
  const kind = p === "rtcgw" ? r.type : r.event;
  const name = p === "rtcgw" ? r.name : (r.mark as { name?: unknown } | null | undefined)?.name;
  if (kind === "clear") return "clear";
  if (p === "twilio" && kind === "connected") return "none"; // Twilio's own first message: a no-op
  if (kind === "mark") return typeof name === "string" && name.length <= 256 ? "mark" : "error";
  if (p === "rtcgw" && kind === "message")
    return typeof r.data === "string" && r.data.length <= 65_536 ? "message" : "error";
  if (p === "rtcgw" && kind === "hangup") return "hangup";
  if (p === "twilio" && kind === "media") {
    const payload = (r.media as { payload?: unknown } | null | undefined)?.payload;
    return typeof payload === "string" && /^[A-Za-z0-9+/]*={0,2}$/.test(payload) && payload.length % 4 === 0
      ? "audio"
      : "error";
  }
  return "error";
}

/** a short label for an assertion (a 1 MiB buffer stringified would cost more than the run) */
function describeMsg(m: Msg): string {
  return Buffer.isBuffer(m.data)
    ? `binary, ${m.data.length} bytes`
    : `text, ${m.data.length} chars: ${JSON.stringify(m.data.slice(0, 120))}`;
}

// ---- an in-process agent ---------------------------------------------------------------------

interface Agent {
  wss: WebSocketServer;
  url: string;
  conns: WebSocket[];
  /** the marks the node answered, by name */
  marks: string[];
  /** resolvers waiting for a mark by name */
  waiting: Map<string, () => void>;
}

async function agentServer(p: Proto): Promise<Agent> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, maxPayload: 4 << 20 });
  await new Promise<void>((r) => wss.once("listening", r));
  const a: Agent = { wss, url: "", conns: [], marks: [], waiting: new Map() };
  wss.on("connection", (ws) => {
    a.conns.push(ws);
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse(String(data));
      const name =
        p === "rtcgw"
          ? m.type === "mark"
            ? m.name
            : undefined
          : m.event === "mark"
            ? m.mark.name
            : undefined;
      if (name === undefined) return;
      a.marks.push(name);
      a.waiting.get(name)?.();
    });
  });
  a.url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/fuzz`;
  return a;
}

async function closeAgent(a: Agent): Promise<void> {
  for (const c of a.wss.clients) c.terminate();
  await new Promise<void>((r) => a.wss.close(() => r()));
}

function syncMark(p: Proto, name: string): string {
  return p === "rtcgw"
    ? JSON.stringify({ type: "mark", name })
    : JSON.stringify({ event: "mark", mark: { name } });
}

/** send the messages, then a mark; resolves when the node has answered it (all read by then) */
async function sendAndSync(
  p: Proto,
  a: Agent,
  ws: WebSocket,
  msgs: Msg[],
  tag: string,
  ms = 5000,
): Promise<void> {
  for (const m of msgs) ws.send(m.data, { binary: m.binary });
  const answered = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the sync mark ${tag} not answered within ${ms} ms`)), ms);
    a.waiting.set(tag, () => {
      clearTimeout(t);
      a.waiting.delete(tag);
      resolve();
    });
  });
  ws.send(syncMark(p, tag));
  await answered;
}

beforeAll(() => {
  process.on("unhandledRejection", onUnhandled);
  process.on("uncaughtException", onUnhandled);
});
afterAll(() => {
  process.off("unhandledRejection", onUnhandled);
  process.off("uncaughtException", onUnhandled);
});

// ---- the unit boundary: AgentBridge + AppSocket over a real ws -------------------------------

describe.each(["rtcgw", "twilio"] as const)("bridge fuzz (%s): agent messages into AgentBridge", (p) => {
  it(`parse never throws and classifies as docs/bridge.md says; ${RUNS} runs of up to ${MAX_PER_RUN} messages over a real socket: errors counted, the leg stays open`, async () => {
    const started = Date.now();
    const a = await agentServer(p);
    const ended: string[] = [];
    const texts: string[] = [];
    const bridge = new AgentBridge(
      {
        url: a.url,
        protocol: p,
        rate: 16000,
        params: {},
        openTimeoutMs: 2000,
        reconnectMs: 2000,
        end: (reason) => ended.push(reason),
        sendText: (t) => {
          texts.push(t);
          return true;
        },
      },
      { sessionId: "fuzz", sendsBack: true, log },
    );
    const parser = createProtocol(p, { rate: 16000 });
    try {
      await waitFor(() => a.conns.length === 1 && bridge.socket.state === "open", 3000, "the leg open");
      const ws = a.conns[0]!;
      let total = 0;
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(GEN[p], { minLength: 8, maxLength: MAX_PER_RUN }), async (msgs) => {
          const want = { errors: 0, audio: 0, marks: 0, clears: 0 };
          for (const m of msgs) {
            const c = parser.parse(Buffer.isBuffer(m.data) ? m.data : Buffer.from(m.data), m.binary);
            const expected = oracle(p, m);
            expect(c.type, describeMsg(m)).toBe(expected);
            if (c.type === "audio") {
              expect(c.samples).toBeInstanceOf(Int16Array);
              if (p === "rtcgw") expect(c.samples.length).toBe((m.data as Buffer).length / 2);
            }
            if (c.type === "error") want.errors++;
            if (c.type === "audio") want.audio++;
            if (c.type === "mark") want.marks++;
            if (c.type === "clear") want.clears++;
          }
          // the unit run keeps the leg: a hangup ends it (its own test below)
          const sent = msgs.filter((m) => oracle(p, m) !== "hangup");
          const before = bridge.stats();
          await sendAndSync(p, a, ws, sent, `sync-${run++}`);
          total += sent.length;
          const after = bridge.stats();
          expect(after.state).toBe("open");
          expect(after.protocolErrors - before.protocolErrors).toBe(want.errors);
          expect(after.audioIn - before.audioIn).toBe(want.audio);
          expect(after.marks - before.marks).toBe(want.marks + 1); // + the sync mark
          expect(after.clears - before.clears).toBe(want.clears);
        }),
        { numRuns: RUNS, seed: FUZZ_SEED, endOnFailure: true },
      );
      expect(total).toBeGreaterThanOrEqual(10_000);
      expect(ended).toEqual([]);
      expect(bridge.stats().reconnects).toBe(0);
      expect(a.conns.length).toBe(1);
      expect(unhandled).toEqual([]);
      console.log(`bridge fuzz ${p}: ${total} messages over the socket in ${Date.now() - started} ms`);
    } finally {
      bridge.close("test over");
      await closeAgent(a);
    }
  }, 120_000);
});

describe("bridge fuzz (rtcgw): a hangup at any point", () => {
  it("ends the leg once, with the agent's reason cut to 200 characters; what follows it is not read", async () => {
    const parser = createProtocol("rtcgw", { rate: 16000 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(rtcgwMsg, { maxLength: 5 }),
        fc.option(weird, { nil: undefined }),
        fc.array(rtcgwMsg, { maxLength: 5 }),
        async (beforeMsgs, reason, afterMsgs) => {
          const keep = (ms: Msg[]) => ms.filter((m) => oracle("rtcgw", m) !== "hangup");
          const a = await agentServer("rtcgw");
          const ended: Array<{ reason: string; by: string }> = [];
          const bridge = new AgentBridge(
            {
              url: a.url,
              protocol: "rtcgw",
              rate: 16000,
              params: {},
              end: (r, by) => ended.push({ reason: r, by }),
              sendText: () => true,
            },
            { sessionId: "fuzz-hangup", sendsBack: true, log },
          );
          try {
            await waitFor(() => a.conns.length === 1 && bridge.socket.state === "open", 3000, "open");
            const ws = a.conns[0]!;
            await sendAndSync("rtcgw", a, ws, keep(beforeMsgs), "before");
            const errorsBefore = bridge.stats().protocolErrors;
            ws.send(JSON.stringify({ type: "hangup", reason }));
            for (const m of keep(afterMsgs)) ws.send(m.data, { binary: m.binary });
            await waitFor(() => ended.length > 0, 3000, "the leg ended");
            await new Promise((r) => setTimeout(r, 20));
            expect(ended).toHaveLength(1);
            expect(ended[0]!.by).toBe("agent-hangup");
            const want = parser.parse(Buffer.from(JSON.stringify({ type: "hangup", reason })), false);
            expect(want.type).toBe("hangup");
            const r = (want as { reason?: string }).reason;
            expect(ended[0]!.reason).toBe(r ? `hangup: ${r}` : "hangup");
            if (typeof reason === "string") expect(r).toBe(reason.slice(0, 200));
            const s = bridge.stats();
            expect(s.state).toBe("closed");
            expect(s.failed).toBe(false);
            expect(s.protocolErrors).toBe(errorsBefore);
          } finally {
            bridge.close("test over");
            await closeAgent(a);
          }
        },
      ),
      { numRuns: 40, seed: FUZZ_SEED, endOnFailure: true },
    );
    expect(unhandled).toEqual([]);
  }, 60_000);
});

// ---- a real session: node, node-datachannel caller, ws agent ---------------------------------

describe("bridge fuzz through a real session", () => {
  let h: Harness;
  const agents: Partial<Record<Proto, Agent>> = {};

  beforeAll(async () => {
    agents.rtcgw = await agentServer("rtcgw");
    agents.twilio = await agentServer("twilio");
    h = await startHarness({
      RTCGW_BRIDGE_ALLOW: `${agents.rtcgw.url},${agents.twilio.url}`,
      RTCGW_BRIDGE_RECONNECT_S: "3",
    });
  });
  afterAll(async () => {
    await h?.close();
    for (const a of Object.values(agents)) if (a) await closeAgent(a);
  });

  it.each(["rtcgw", "twilio"] as const)(
    `%s: ${SESSION_MESSAGES} fuzzed messages from the agent; the call stays connected, errors counted; DELETE leaves no session and no registry record`,
    async (p) => {
      const started = Date.now();
      const a = agents[p]!;
      const sessionsBefore = h.node.sessions();
      const c = await ClientPeer.create({ direction: "sendrecv", toneHz: 440, dataChannel: false });
      const sessionId = newSessionId();
      await h.registry.createSession({
        id: sessionId,
        nodeId: h.node.id,
        kind: "session",
        profile: "bridge",
        tokenHash: "a".repeat(64),
        state: "new",
        etag: "e0",
        ttlMs: 60_000,
      });
      const before = a.conns.length;
      const r = await h.call("POST", "/internal/sessions", {
        sessionId,
        kind: "session",
        profile: "bridge",
        offer: c.offer,
        bridgeUrl: a.url,
        ...(p === "twilio" ? { bridgeProtocol: "twilio" } : {}),
      });
      expect(r.status).toBe(201);
      try {
        c.accept(r.json.answer);
        await c.connected(5000);
        await waitFor(() => a.conns.length > before, 3000, "the agent's connection");
        const ws = a.conns[before]!;
        const msgs = fc
          .sample(GEN[p], { numRuns: SESSION_MESSAGES, seed: FUZZ_SEED + (p === "rtcgw" ? 1 : 2) })
          .filter((m) => oracle(p, m) !== "hangup");
        const errors = msgs.filter((m) => oracle(p, m) === "error").length;
        const clearMsg = p === "rtcgw" ? '{"type":"clear"}' : '{"event":"clear"}';
        // in batches of 20, each followed by a clear (the queued audio dropped, marks answered) and a
        // sync mark answered at once, so the whole run takes seconds, not the audio's length
        for (let i = 0; i < msgs.length; i += 20) {
          await sendAndSync(
            p,
            a,
            ws,
            [...msgs.slice(i, i + 20), { data: clearMsg, binary: false }],
            `s${p}${i}`,
          );
          const st = await h.call("GET", `/internal/sessions/${sessionId}`);
          expect(st.status).toBe(200);
          expect(st.json.state).toBe("connected");
          expect(st.json.bridge.state).toBe("open");
        }
        const st = (await h.call("GET", `/internal/sessions/${sessionId}`)).json;
        expect(st.bridge.protocolErrors).toBe(errors);
        expect(st.bridge.reconnects).toBe(0);
        expect(a.conns.length).toBe(before + 1);
        expect(c.pc.state()).toBe("connected");
        expect(unhandled).toEqual([]);
        console.log(
          `bridge fuzz ${p} session: ${msgs.length} messages (${errors} protocol errors) in ${Date.now() - started} ms`,
        );
      } finally {
        const d = await h.call("DELETE", `/internal/sessions/${sessionId}`);
        expect([200, 204]).toContain(d.status);
        await c.close();
      }
      expect((await h.call("GET", `/internal/sessions/${sessionId}`)).status).toBe(404);
      expect(await h.registry.getSession(sessionId)).toBeUndefined();
      expect(h.node.sessions()).toBe(sessionsBefore);
    },
    60_000,
  );
});
