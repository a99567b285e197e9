// The control API: signatures, replays, body validation, offer refusals with a reason, trickle,
// ICE restart refusal, capacity — while a real session keeps its media flowing.
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signRequest } from "../../src/control/hmac.js";
import { CONTROL_REQUEST_TIMEOUT_MS } from "../../src/node/control-server.js";
import { ClientPeer } from "../support/client-peer.js";
import { type Harness, newSessionId, startHarness } from "./harness.js";

let h: Harness;
let flowing: ClientPeer;
let flowingId: string;

beforeAll(async () => {
  h = await startHarness({ RTCGW_NODE_CAPACITY: "3" });
  // a session that must keep flowing while bad requests are refused around it
  flowing = await ClientPeer.create();
  const r = await h.createSession(flowing.offer);
  expect(r.status).toBe(201);
  flowingId = r.sessionId;
  flowing.accept(r.json.answer);
  await flowing.connected(5000);
});
afterAll(async () => {
  await flowing?.close();
  await h?.close();
});

async function raw(method: string, path: string, headers: Record<string, string>, body?: string) {
  const res = await fetch(h.node.controlUrl + path, { method, headers, ...(body ? { body } : {}) });
  // biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary fields of the JSON body
  return { status: res.status, json: (await res.json().catch(() => undefined)) as any };
}

describe("a caller that sends slowly", () => {
  it(`is answered 408 and closed once CONTROL_REQUEST_TIMEOUT_MS (${CONTROL_REQUEST_TIMEOUT_MS} ms) pass without the whole request; the port still answers others`, async () => {
    const { port } = new URL(h.node.controlUrl);
    const sock = connect(Number(port), "127.0.0.1");
    await new Promise<void>((r) => sock.once("connect", () => r()));
    const started = Date.now();
    // headers whole, a body promised and never sent
    sock.write("POST /internal/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{");
    let answer = "";
    sock.on("data", (d) => {
      answer += String(d);
    });
    await new Promise<void>((r) => sock.once("close", () => r()));
    const tookMs = Date.now() - started;
    expect(answer).toMatch(/^HTTP\/1.1 408/);
    expect(tookMs).toBeGreaterThanOrEqual(CONTROL_REQUEST_TIMEOUT_MS - 100);
    // Node checks every connectionsCheckingInterval (1 s here; 30 s by default)
    expect(tookMs).toBeLessThan(CONTROL_REQUEST_TIMEOUT_MS + 3_000);
    expect(
      (await raw("GET", "/internal/health", signRequest(h.node.secret, h.node.id, "GET", "/internal/health")))
        .status,
    ).toBe(200);
  }, 15_000);
});

describe("authentication", () => {
  it("refuses unsigned, badly signed, stale and replayed requests with 401", async () => {
    const path = "/internal/health";
    expect((await raw("GET", path, {})).status).toBe(401);
    const good = signRequest(h.node.secret, h.node.id, "GET", path);
    const bad = { ...good, "x-rtcgw-signature": "0".repeat(64) };
    const r1 = await raw("GET", path, bad);
    expect(r1.status).toBe(401);
    expect(r1.json.reason).toBe("bad signature");
    const wrongSecret = signRequest("another-secret-0123456789", h.node.id, "GET", path);
    expect((await raw("GET", path, wrongSecret)).status).toBe(401);
    const stale = signRequest(h.node.secret, h.node.id, "GET", path, "", Date.now() - 60_000);
    expect((await raw("GET", path, stale)).json.reason).toMatch(/30 s/);
    expect((await raw("GET", path, good)).status).toBe(200);
    const replay = await raw("GET", path, good);
    expect(replay.status).toBe(401);
    expect(replay.json.reason).toBe("replayed request");
  });

  it("a session or resume path with a bad percent-escape is 400 bad-session-id, not 500 (found by fuzzing, and by the HTTP audit)", async () => {
    for (const path of ["/internal/sessions/%ZZ", "/internal/sessions/%C0%AF", "/internal/sessions/%"]) {
      const r = await raw("GET", path, signRequest(h.node.secret, h.node.id, "GET", path));
      expect(r.status, path).toBe(400);
      expect(r.json.error).toBe("bad-session-id");
    }
    // the resume route too (it was a 500 "URI malformed"); the body is never looked at
    for (const path of [
      "/internal/sessions/%ZZ/resume",
      "/internal/sessions/%C0%AF/resume",
      "/internal/sessions/%/resume",
    ]) {
      const body = JSON.stringify({ offer: flowing.offer });
      const r = await raw("POST", path, signRequest(h.node.secret, h.node.id, "POST", path, body), body);
      expect(r.status, path).toBe(400);
      expect(r.json.error).toBe("bad-session-id");
    }
  });

  it("a request signed for another node is refused, even with a fresh nonce", async () => {
    const path = "/internal/health";
    const forOther = signRequest(h.node.secret, "node-other-worker", "GET", path);
    const r = await raw("GET", path, forOther);
    expect(r.status).toBe(401);
    expect(r.json.reason).toBe("request signed for another node");
    // the target is signed: rewriting the header to this node breaks the signature
    const relabelled = await raw("GET", path, { ...forOther, "x-rtcgw-node": h.node.id });
    expect(relabelled.status).toBe(401);
    expect(relabelled.json.reason).toBe("bad signature");
  });

  it("a signature over another body or path does not pass", async () => {
    const body = JSON.stringify({
      sessionId: newSessionId(),
      kind: "session",
      profile: "echo",
      offer: "v=0",
    });
    const headers = signRequest(h.node.secret, h.node.id, "POST", "/internal/sessions", "{}");
    expect((await raw("POST", "/internal/sessions", headers, body)).status).toBe(401);
    const otherPath = signRequest(h.node.secret, h.node.id, "GET", "/internal/sessions/x");
    expect((await raw("GET", "/internal/health", otherPath)).status).toBe(401);
  });

  it("serves /metrics unsigned", async () => {
    const res = await fetch(`${h.node.controlUrl}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/rtcgw_sessions\{[^}]*state="connected"[^}]*\} 1/);
    expect(text).toMatch(/rtcgw_process_cpu_seconds_total/);
    expect(text).toMatch(/rtcgw_event_loop_delay_seconds/);
  });

  it("reports event-loop delay as the time beyond the sampling interval: a 150 ms block shows, an on-time wake-up reads near 0", async () => {
    const quantiles = async () => {
      const text = await (await fetch(`${h.node.controlUrl}/metrics`)).text();
      const q = (k: string) =>
        Number(
          new RegExp(`rtcgw_event_loop_delay_seconds\\{[^}]*stat="${k}"[^}]*\\} ([\\d.e+-]+)`).exec(text)![1],
        );
      return { min: q("min"), max: q("max") };
    };
    await quantiles(); // a scrape resets the histogram
    await new Promise((r) => setTimeout(r, 300));
    const idle = await quantiles();
    // the raw histogram never reads below its 10 ms interval; the delay beyond it does, even on a busy machine
    expect(idle.min).toBeLessThan(0.005);
    // the scrape reset the histogram, and the first interval after a reset only sets its start:
    // let it sample once before the stall, or the stall is that first interval and goes unseen
    await new Promise((r) => setTimeout(r, 30));
    const until = performance.now() + 150;
    while (performance.now() < until) {} // block the loop
    await new Promise((r) => setTimeout(r, 50));
    expect((await quantiles()).max).toBeGreaterThan(0.12);
  });
});

describe("offers refused with a reason while another session flows", () => {
  const refusals: [string, string, number, RegExp][] = [
    ["not SDP", "hello", 400, /v=0/],
    ["no m-line", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", 400, /no m-line/],
    [
      "video only",
      "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:96 VP8/90000\r\n",
      422,
      /no audio m-line/,
    ],
  ];
  for (const [name, offer, status, reason] of refusals) {
    it(`${name} → ${status}`, async () => {
      const before = flowing.stats.packetsReceived;
      const r = await h.createSession(offer);
      expect(r.status).toBe(status);
      expect(r.json.reason).toMatch(reason);
      expect(await h.registry.getSession(r.sessionId)).toBeDefined(); // the signaling's record is untouched
      await flowing.until(() => flowing.stats.packetsReceived > before + 10, 3000, "media still flowing");
    });
  }

  it("an audio m-line without a supported codec → 422", async () => {
    const c = await ClientPeer.create({ dataChannel: false });
    const offer = c.offer.replace(/opus\/48000\/2/g, "G722/8000").replace(/a=fmtp:111 .*\r?\n/, "");
    const r = await h.createSession(offer);
    expect(r.status).toBe(422);
    expect(r.json.error).toBe("unsupported-offer");
    expect(r.json.reason).toMatch(/Opus/);
    await c.close();
  });

  it("two audio m-lines → 422; a WHEP offer that only sends → 422", async () => {
    const c = await ClientPeer.create({ dataChannel: false });
    const m = c.offer.slice(c.offer.indexOf("m=audio"));
    const two = c.offer + m.replace("a=mid:0", "a=mid:1");
    expect((await h.createSession(two)).status).toBe(422);
    const whep = await h.createSession(c.offer.replace("a=sendrecv", "a=sendonly"), {
      kind: "whep",
      sourceSessionId: flowingId,
    });
    expect(whep.status).toBe(422);
    await c.close();
  });

  it("a WHEP listener of a WHEP listener → 422 source-is-listener; no session is made", async () => {
    const first = await ClientPeer.create({ direction: "recvonly", dataChannel: false });
    const second = await ClientPeer.create({ direction: "recvonly", dataChannel: false });
    try {
      const listener = await h.createSession(first.offer, { kind: "whep", sourceSessionId: flowingId });
      expect(listener.status).toBe(201);
      const before = h.node.sessions();
      const r = await h.createSession(second.offer, { kind: "whep", sourceSessionId: listener.sessionId });
      expect(r.status).toBe(422);
      expect(r.json.error).toBe("source-is-listener");
      expect(r.json.reason).toMatch(/is a WHEP listener; it has no incoming audio/);
      expect(h.node.sessions()).toBe(before);
      expect((await h.call("GET", `/internal/sessions/${r.sessionId}`)).status).toBe(404);
      expect((await h.call("DELETE", `/internal/sessions/${listener.sessionId}`)).status).toBe(204);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it("the bridge profile without a URL, and options the profile would ignore → 400 naming them; no session is made", async () => {
    const c = await ClientPeer.create({ dataChannel: false });
    try {
      const cases: [Record<string, unknown>, string, RegExp][] = [
        [{ profile: "bridge" }, "bad-bridge-url", /bridge profile needs bridgeUrl/],
        [
          { profile: "echo", recordRate: 8000 },
          "bad-request",
          /recordRate applies to the record profile only, not echo/,
        ],
        [
          { profile: "echo", bridgeUrl: "ws://127.0.0.1:9/agent" },
          "bad-request",
          /bridgeUrl applies to the bridge profile only/,
        ],
        [
          { profile: "record", bridgeRecord: true },
          "bad-request",
          /bridgeRecord applies to the bridge profile only, not record/,
        ],
        [{ profile: "echo", bridgeRate: 16000 }, "bad-request", /bridgeRate applies/],
        [{ profile: "echo", bridgeProtocol: "twilio" }, "bad-request", /bridgeProtocol applies/],
        [{ profile: "echo", bridgeParams: { a: "b" } }, "bad-request", /bridgeParams applies/],
      ];
      const before = h.node.sessions();
      for (const [fields, code, reason] of cases) {
        const { profile, ...body } = fields;
        const r = await h.createSession(c.offer, { profile: profile as string, body });
        expect(r.status, JSON.stringify(fields)).toBe(400);
        expect(r.json.error).toBe(code);
        expect(r.json.reason).toMatch(reason);
        expect((await h.call("GET", `/internal/sessions/${r.sessionId}`)).status).toBe(404);
      }
      expect(h.node.sessions()).toBe(before);
    } finally {
      await c.close();
    }
  });

  it("an oversized offer → 413, a bad body → 400", async () => {
    const big = await h.call("POST", "/internal/sessions", {
      sessionId: newSessionId(),
      kind: "session",
      profile: "echo",
      offer: `v=0\r\n${"a=x\r\n".repeat(20_000)}`,
    });
    expect(big.status).toBe(413);
    expect(big.json.error).toBe("sdp-too-large");
    const bad = await h.call("POST", "/internal/sessions", { sessionId: "short", kind: "nope" });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe("bad-request");
  });
});

describe("session routes", () => {
  it("unknown sessions → 404; DELETE is idempotent", async () => {
    const id = newSessionId();
    expect((await h.call("GET", `/internal/sessions/${id}`)).status).toBe(404);
    expect(
      (
        await h.call("PATCH", `/internal/sessions/${id}`, {
          sdpfrag: "a=candidate:1 1 UDP 1 127.0.0.1 9 typ host",
        })
      ).status,
    ).toBe(404);
    expect((await h.call("DELETE", `/internal/sessions/${id}`)).status).toBe(204);
  });

  it("trickled candidates → 204; an ICE restart (new ufrag) → 422", async () => {
    const frag =
      "a=ice-ufrag:" +
      /a=ice-ufrag:(\S+)/.exec(flowing.offer)![1] +
      "\r\na=mid:0\r\na=candidate:2 1 UDP 2113937151 127.0.0.1 9 typ host\r\n";
    expect((await h.call("PATCH", `/internal/sessions/${flowingId}`, { sdpfrag: frag })).status).toBe(204);
    const restart = await h.call("PATCH", `/internal/sessions/${flowingId}`, {
      sdpfrag: "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n",
    });
    expect(restart.status).toBe(422);
    expect(restart.json.error).toBe("ice-restart-unsupported");
  });

  it("starts a session with the ETag the signaling recorded; a malformed one → 400", async () => {
    const c = await ClientPeer.create({ dataChannel: false });
    const base = { kind: "session", profile: "echo", offer: c.offer };
    const bad = await h.call("POST", "/internal/sessions", {
      ...base,
      sessionId: newSessionId(),
      etag: 'has "quotes"',
    });
    expect(bad.status).toBe(400);
    const sessionId = newSessionId();
    const ok = await h.call("POST", "/internal/sessions", { ...base, sessionId, etag: "0123456789abcdef" });
    expect(ok.status).toBe(201);
    expect(ok.json.etag).toBe("0123456789abcdef");
    expect((await h.call("DELETE", `/internal/sessions/${sessionId}`)).status).toBe(204);
    await c.close();
  });

  it("a full node answers 503 with Retry-After", async () => {
    const peers = [await ClientPeer.create(), await ClientPeer.create(), await ClientPeer.create()];
    const results = [];
    for (const p of peers) results.push(await h.createSession(p.offer));
    expect(results.map((r) => r.status)).toEqual([201, 201, 503]);
    const full = await h.call("POST", "/internal/sessions", {
      sessionId: newSessionId(),
      kind: "session",
      profile: "echo",
      offer: peers[2]!.offer,
    });
    expect(full.headers.get("retry-after")).toBe("5");
    for (const r of results.slice(0, 2)) await h.call("DELETE", `/internal/sessions/${r.sessionId}`);
    for (const p of peers) await p.close();
  });
});
