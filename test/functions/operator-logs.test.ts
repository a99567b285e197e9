// What an operator reads when a request fails: the log lines (level, sessionId, route) and the
// node's counters, through the function handlers against a real media node. A client's offer that
// libdatachannel refuses is the client's doing (info, offers refused), not a server teardown; the
// signaling's error lines name the session, the method and the route — never the token.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientPeer } from "../support/client-peer.js";
import { type FnHarness, invoke, sdpHeaders, startFnHarness } from "./harness.js";

const API_TOKEN = "api-token-for-ops-logs-0123456789";
const WRONG_TOKEN = "not-the-owner-token-0123456789";
let h: FnHarness;
const peers: ClientPeer[] = [];

beforeAll(async () => {
  h = await startFnHarness({ RTCGW_API_TOKEN: API_TOKEN });
});
afterAll(async () => {
  for (const p of peers) await p.close();
  await h?.close();
});

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

type Line = Record<string, unknown>;
/** the log lines written since `from` (an offset into h.logs()), parsed */
const linesSince = (from: number): Line[] =>
  h
    .logs()
    .slice(from)
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Line);

/** a counter's value in the node's /metrics (0 when the series does not exist yet) */
async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${h.node.controlUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("an offer libdatachannel refuses (the client's malformed fingerprint)", () => {
  it("is logged at info with its sessionId and counted as refused malformed-sdp, not as a teardown with reason error", async () => {
    const c = await ClientPeer.create();
    peers.push(c);
    // passes the signaling's and validateOffer's checks; libdatachannel cannot read the fingerprint
    const offer = c.offer.replace(/^a=fingerprint:.*$/gm, "a=fingerprint:sha-256 AA:BB");
    expect(offer).not.toBe(c.offer);
    const refusedBefore = await metric("rtcgw_offers_refused_total", 'reason="malformed-sdp"');
    const errorsBefore = await metric("rtcgw_session_teardowns_total", 'reason="error"');
    const from = h.logs().length;

    const r = await invoke({
      method: "POST",
      path: "/v1/sessions?profile=echo",
      headers: sdpHeaders(bearer(API_TOKEN)),
      body: offer,
    });
    expect(r.status).toBe(400);
    expect(r.json().error).toBe("malformed-sdp");

    const lines = linesSince(from);
    const all = JSON.stringify(lines);
    expect(
      lines.filter((l) => l.level === "error"),
      all,
    ).toEqual([]);
    expect(all).not.toContain("could not answer the offer");
    const refused = lines.find((l) => l.msg === "offer refused");
    expect(refused, all).toMatchObject({ level: "info", status: 400, nodeId: h.node.id });
    expect(refused?.sessionId).toEqual(expect.any(String));
    expect(await metric("rtcgw_offers_refused_total", 'reason="malformed-sdp"')).toBe(refusedBefore + 1);
    expect(await metric("rtcgw_session_teardowns_total", 'reason="error"')).toBe(errorsBefore);
    // nothing left of it on the node or in the registry
    expect(h.node.sessions()).toBe(0);
    expect(await h.registry.getSession(refused!.sessionId as string)).toBeUndefined();
    expect(all).not.toContain(API_TOKEN);
  });
});

describe("a resume offer libdatachannel refuses", () => {
  it('is logged at info ("resume refused") and counted as refused malformed-sdp; the session goes on', async () => {
    const c = await ClientPeer.create();
    peers.push(c);
    const created = await invoke({
      method: "POST",
      path: "/v1/sessions",
      headers: sdpHeaders(bearer(API_TOKEN)),
      body: c.offer,
    });
    expect(created.status).toBe(201);
    const id = created.headers.location!.split("/").pop()!;
    const next = await ClientPeer.create();
    peers.push(next);
    const offer = next.offer.replace(/^a=fingerprint:.*$/gm, "a=fingerprint:sha-256 AA:BB");
    const refusedBefore = await metric("rtcgw_offers_refused_total", 'reason="malformed-sdp"');
    const from = h.logs().length;

    const r = await invoke({
      method: "POST",
      path: `${created.headers.location!}/resume`,
      headers: sdpHeaders(bearer(API_TOKEN)),
      body: offer,
    });
    expect(r.status).toBe(400);
    expect(r.json()).toMatchObject({ error: "malformed-sdp" });
    expect(r.json().reason).toMatch(/^the offer could not be applied: .*fingerprint/);

    const lines = linesSince(from);
    const all = JSON.stringify(lines);
    expect(
      lines.filter((l) => l.level === "error"),
      all,
    ).toEqual([]);
    expect(
      lines.find((l) => l.msg === "resume refused"),
      all,
    ).toMatchObject({
      level: "info",
      status: 400,
      sessionId: id,
      nodeId: h.node.id,
    });
    expect(await metric("rtcgw_offers_refused_total", 'reason="malformed-sdp"')).toBe(refusedBefore + 1);
    expect(await h.registry.getSession(id)).toBeDefined();
    expect(
      (await invoke({ method: "DELETE", path: created.headers.location!, headers: bearer(API_TOKEN) }))
        .status,
    ).toBe(200);
  });
});

describe("the signaling's error lines on a session's routes", () => {
  it("the last line of a failed create names the session it would have been, the method and the route", async () => {
    const c = await ClientPeer.create();
    peers.push(c);
    const offer = c.offer.replace(/^a=fingerprint:.*$/gm, "a=fingerprint:sha-256 AA:BB");
    const from = h.logs().length;
    const r = await invoke({
      method: "POST",
      path: "/v1/sessions?profile=echo",
      headers: sdpHeaders(bearer(API_TOKEN)),
      body: offer,
    });
    expect(r.status).toBe(400);
    const lines = linesSince(from);
    const all = JSON.stringify(lines);
    const refused = lines.find((l) => l.msg === "offer refused");
    expect(refused?.sessionId, all).toEqual(expect.any(String));
    const last = lines.filter((l) => l.code === "malformed-sdp" && l.status === 400).pop();
    expect(last, all).toMatchObject({
      level: "info",
      sessionId: refused!.sessionId,
      method: "POST",
      route: "/v1/sessions",
    });
    expect(all).not.toContain(API_TOKEN);
  });

  it("carry the sessionId, the method and the route (403, 404, 401), never the token", async () => {
    const c = await ClientPeer.create();
    peers.push(c);
    const created = await invoke({
      method: "POST",
      path: "/v1/sessions",
      headers: sdpHeaders(bearer(API_TOKEN)),
      body: c.offer,
    });
    expect(created.status).toBe(201);
    const url = created.headers.location!;
    const id = url.split("/").pop()!;
    const from = h.logs().length;

    expect((await invoke({ method: "DELETE", path: url, headers: bearer(WRONG_TOKEN) })).status).toBe(403);
    expect((await invoke({ method: "GET", path: url })).status).toBe(401);
    const never = `${id.slice(0, 22)}${"A".repeat(id.length - 22)}`;
    expect(
      (await invoke({ method: "GET", path: `/v1/sessions/${never}`, headers: bearer(API_TOKEN) })).status,
    ).toBe(404);
    const resumeForbidden = await invoke({
      method: "POST",
      path: `${url}/resume`,
      headers: sdpHeaders(bearer(WRONG_TOKEN)),
      body: c.offer,
    });
    expect(resumeForbidden.status).toBe(403);

    const lines = linesSince(from);
    const all = JSON.stringify(lines);
    expect(
      lines.find((l) => l.status === 403 && l.method === "DELETE"),
      all,
    ).toMatchObject({
      level: "info",
      code: "forbidden",
      sessionId: id,
      method: "DELETE",
      route: "/v1/sessions/{id}",
    });
    expect(
      lines.find((l) => l.status === 401),
      all,
    ).toMatchObject({
      code: "unauthorized",
      sessionId: id,
      method: "GET",
      route: "/v1/sessions/{id}",
    });
    expect(
      lines.find((l) => l.status === 404),
      all,
    ).toMatchObject({
      code: "not-found",
      sessionId: never,
      method: "GET",
      route: "/v1/sessions/{id}",
    });
    expect(
      lines.find((l) => l.status === 403 && l.method === "POST"),
      all,
    ).toMatchObject({
      sessionId: id,
      route: "/v1/sessions/{id}/resume",
    });
    expect(all).not.toContain(WRONG_TOKEN);
    expect(all).not.toContain(API_TOKEN);
    expect(all).not.toContain(created.headers["rtcgw-session-token"]!);
  });

  it("a WHEP listener's refusal names its source session (sourceSessionId), not as the listener's id", async () => {
    const c = await ClientPeer.create();
    peers.push(c);
    const src = await invoke({
      method: "POST",
      path: "/v1/whip",
      headers: sdpHeaders(bearer(API_TOKEN)),
      body: c.offer,
    });
    expect(src.status).toBe(201);
    const srcId = src.headers.location!.split("/").pop()!;
    const from = h.logs().length;
    const listener = await ClientPeer.create({ direction: "recvonly" });
    peers.push(listener);
    const r = await invoke({
      method: "POST",
      path: `/v1/whep/${srcId}`,
      headers: sdpHeaders(bearer(WRONG_TOKEN)),
      body: listener.offer,
    });
    expect(r.status).toBe(403);
    const line = linesSince(from).find((l) => l.status === 403);
    expect(line).toMatchObject({ sourceSessionId: srcId, method: "POST", route: "/v1/whep/{id}" });
    expect(line?.sessionId).toBeUndefined();
  });
});
