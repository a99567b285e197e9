// The session resource /v1/sessions/{id} through the function handlers, with a real node and
// real peers: Bearer auth (API token for creation; the creator's token or the per-session secret
// afterwards), PATCH trickle/restart with If-Match (RFC 9725 §4.3), GET status, DELETE freeing
// the node's peer and the registry record.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../node/harness.js";
import { ClientPeer } from "../support/client-peer.js";
import { type FnHarness, invoke, sdpHeaders, startFnHarness } from "./harness.js";
import { iceCredentials, trickleFrag } from "./sdp-fixtures.js";

const API_TOKEN = "api-token-for-tests-0123456789";
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

async function create(token = API_TOKEN, path = "/v1/sessions") {
  const c = await ClientPeer.create({ direction: "sendrecv" });
  peers.push(c);
  const r = await invoke({ method: "POST", path, headers: sdpHeaders(bearer(token)), body: c.offer });
  expect(r.status).toBe(201);
  c.accept(r.body);
  return {
    c,
    r,
    url: r.headers.location!,
    id: r.headers.location!.split("/").pop()!,
    etag: r.headers.etag!,
    secret: r.headers["rtcgw-session-token"]!,
  };
}

describe("creation with RTCGW_API_TOKEN", () => {
  it("401 with a Bearer challenge without a token or with a wrong one; nothing is created", async () => {
    const c = await ClientPeer.create();
    peers.push(c);
    const before = h.node.sessions();
    const none = await invoke({ method: "POST", path: "/v1/whip", headers: sdpHeaders(), body: c.offer });
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toMatch(/^Bearer realm=/);
    const wrong = await invoke({
      method: "POST",
      path: "/v1/whip",
      headers: sdpHeaders(bearer("not-the-token-0123456789")),
      body: c.offer,
    });
    expect(wrong.status).toBe(401);
    const basic = await invoke({
      method: "POST",
      path: "/v1/whip",
      headers: sdpHeaders({ authorization: `Basic ${Buffer.from(`a:${API_TOKEN}`).toString("base64")}` }),
      body: c.offer,
    });
    expect(basic.status).toBe(401);
    expect(h.node.sessions()).toBe(before);
    // no secret in the error
    expect(wrong.body).not.toContain("not-the-token");
    expect(wrong.body).not.toContain(API_TOKEN);
  });
});

describe("who may use a session", () => {
  it("the creator's token (as WHIP clients reuse it) and the session secret work; other tokens do not", async () => {
    const s = await create();
    const get = (h: Record<string, string>) => invoke({ method: "GET", path: s.url, headers: h });
    expect((await get({})).status).toBe(401);
    expect((await get(bearer("someone-else-0123456789"))).status).toBe(403);
    // the session secret of another session does not open this one
    const other = await create();
    expect((await get(bearer(other.secret))).status).toBe(403);
    expect((await get(bearer(s.secret))).status).toBe(200);
    expect((await get(bearer(API_TOKEN))).status).toBe(200);
  });

  it("a session created with another client's own token is bound to that token", async () => {
    // with no API token configured, any Bearer the client brings binds its sessions
    const open = await startOpenGateway();
    try {
      const c = await ClientPeer.create();
      peers.push(c);
      const mine = "client-chosen-token-abcdef";
      const r = await invoke({
        method: "POST",
        path: "/v1/sessions",
        headers: sdpHeaders(bearer(mine)),
        body: c.offer,
      });
      expect(r.status).toBe(201);
      const url = r.headers.location!;
      expect(
        (await invoke({ method: "GET", path: url, headers: bearer("client-chosen-token-abcdeX") })).status,
      ).toBe(403);
      expect((await invoke({ method: "DELETE", path: url, headers: bearer(mine) })).status).toBe(200);
    } finally {
      open.restore();
    }
  });

  it("unknown or malformed session ids are 404", async () => {
    for (const id of ["A".repeat(44), "short", "bad%2F..%2Fid"]) {
      const r = await invoke({ method: "GET", path: `/v1/sessions/${id}`, headers: bearer(API_TOKEN) });
      expect(r.status).toBe(404);
    }
  });
});

/** Temporarily point the functions at a gateway without RTCGW_API_TOKEN (same node, same registry). */
async function startOpenGateway() {
  const { testConfig } = await import("./harness.js");
  const open = { ...testConfig(), RTCGW_API_TOKEN: undefined };
  h.reconfigure({ config: open });
  return { restore: () => h.reconfigure({}) };
}

describe("PATCH (RFC 9725 §4.3)", () => {
  it("428 without If-Match, 412 when stale, 415 for a wrong type, 204 for a trickle with the current ETag or *", async () => {
    const s = await create();
    const { ufrag, pwd } = iceCredentials(s.c.offer);
    const frag = trickleFrag(ufrag, pwd);
    const patch = (headers: Record<string, string>, body = frag) =>
      invoke({ method: "PATCH", path: s.url, headers: { ...bearer(API_TOKEN), ...headers }, body });
    const type = { "content-type": "application/trickle-ice-sdpfrag" };
    expect((await patch({ ...type })).status).toBe(428);
    const stale = await patch({ ...type, "if-match": '"not-the-etag"' });
    expect(stale.status).toBe(412);
    expect((await patch({ "content-type": "application/sdp", "if-match": s.etag })).status).toBe(415);
    expect((await patch({ ...type, "if-match": s.etag })).status).toBe(204);
    expect((await patch({ ...type, "if-match": "*" }, trickleFrag(ufrag, pwd, 50001))).status).toBe(204);
    // auth comes first
    const anon = await invoke({
      method: "PATCH",
      path: s.url,
      headers: { ...type, "if-match": s.etag },
      body: frag,
    });
    expect(anon.status).toBe(401);
  });

  it("a trickle whose a=ice-ufrag line is wrong but whose candidates carry the session's ufrag is 204, not a restart", async () => {
    // medooze whip.js writes "a=ice-ufrag:null" when it trickles before it read its own offer
    const s = await create();
    const { ufrag, pwd } = iceCredentials(s.c.offer);
    const body = trickleFrag("null", pwd).replace(/typ host\r\n/, `typ host generation 0 ufrag ${ufrag}\r\n`);
    const r = await invoke({
      method: "PATCH",
      path: s.url,
      headers: {
        ...bearer(API_TOKEN),
        "content-type": "application/trickle-ice-sdpfrag",
        "if-match": s.etag,
      },
      body,
    });
    expect(r.status).toBe(204);
  });

  it("a WHEP listener may trickle without If-Match (medooze whep.js sends none); a stale one is still 412", async () => {
    const src = await create(API_TOKEN, "/v1/whip?profile=echo");
    const viewer = await create(API_TOKEN, `/v1/whep/${src.id}`);
    const { ufrag, pwd } = iceCredentials(viewer.c.offer);
    const patch = (headers: Record<string, string>) =>
      invoke({
        method: "PATCH",
        path: viewer.url,
        headers: { ...bearer(API_TOKEN), "content-type": "application/trickle-ice-sdpfrag", ...headers },
        body: trickleFrag(ufrag, pwd),
      });
    expect((await patch({})).status).toBe(204);
    expect((await patch({ "if-match": '"not-the-etag"' })).status).toBe(412);
    expect((await patch({ "if-match": viewer.etag })).status).toBe(204);
  });

  it("an ICE restart is refused with 422 (libdatachannel cannot restart), the session keeps its ETag", async () => {
    const s = await create();
    const restart = trickleFrag("newufrag", "newpasswordnewpassword12");
    const r = await invoke({
      method: "PATCH",
      path: s.url,
      headers: { ...bearer(s.secret), "content-type": "application/trickle-ice-sdpfrag", "if-match": "*" },
      body: restart,
    });
    expect(r.status).toBe(422);
    expect(r.json().reason).toMatch(/restart/i);
    expect(`"${(await h.registry.getSession(s.id))?.etag}"`).toBe(s.etag);
  });
});

describe("GET /v1/sessions/{id}", () => {
  it("returns JSON status merged with the node's live stats", async () => {
    const s = await create();
    await s.c.connected(8000);
    await s.c.until(() => s.c.stats.packetsReceived > 20, 8000, "echo");
    const r = await invoke({ method: "GET", path: s.url, headers: bearer(s.secret) });
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.headers.etag).toBe(s.etag);
    const j = r.json();
    expect(j).toMatchObject({
      id: s.id,
      kind: "session",
      profile: "echo",
      state: "connected",
      nodeReachable: true,
    });
    expect(j.stats.packetsIn).toBeGreaterThan(0);
    expect(j.stats.packetsOut).toBeGreaterThan(0);
    expect(JSON.stringify(j)).not.toContain(s.secret);
  });

  it("HEAD answers as GET without the body (RFC 9110 §9.3.2): the session, an unknown one, the health", async () => {
    const s = await create();
    const head = await invoke({ method: "HEAD", path: s.url, headers: bearer(s.secret) });
    expect([head.status, head.headers["content-type"], head.headers.etag, head.body]).toEqual([
      200,
      "application/json",
      s.etag,
      "",
    ]);
    const unknown = await invoke({
      method: "HEAD",
      path: `/v1/sessions/${"x".repeat(43)}`,
      headers: bearer(API_TOKEN),
    });
    expect([unknown.status, unknown.body]).toEqual([404, ""]);
    const health = await invoke({ method: "HEAD", path: "/v1/health" });
    expect([health.status, health.headers["content-type"], health.body]).toEqual([
      200,
      "application/json",
      "",
    ]);
  });
});

describe("DELETE /v1/sessions/{id}", () => {
  it("ends the session: the node frees the peer, the record becomes a tombstone, GET says it ended", async () => {
    const s = await create();
    await s.c.connected(8000);
    const before = h.node.sessions();
    expect(
      (await invoke({ method: "DELETE", path: s.url, headers: bearer("wrong-token-0123456789") })).status,
    ).toBe(403);
    expect(h.node.sessions()).toBe(before);
    // RFC 9725 clients delete with the same token they created with
    const r = await invoke({ method: "DELETE", path: s.url, headers: bearer(API_TOKEN) });
    expect(r.status).toBe(200);
    expect(h.node.sessions()).toBe(before - 1);
    expect(await h.registry.getSession(s.id)).toBeUndefined();
    await s.c.until(
      () => s.c.state === "closed" || s.c.state === "disconnected",
      8000,
      "peer closed by the server",
    );
    const g = await invoke({ method: "GET", path: s.url, headers: bearer(s.secret) });
    expect(g.status).toBe(200);
    expect(g.json()).toMatchObject({ id: s.id, state: "ended", endReason: "deleted" });
    expect(g.json().endedAt).toBeGreaterThan(Date.now() - 10_000);
    // DELETE is idempotent for every credential of the session (RFC 9110 §9.2.2): the tombstone
    // keeps the session token's hash, the id recognises the creator's token
    expect((await invoke({ method: "DELETE", path: s.url, headers: bearer(API_TOKEN) })).status).toBe(200);
    expect((await invoke({ method: "DELETE", path: s.url, headers: bearer(s.secret) })).status).toBe(200);
    expect(
      (await invoke({ method: "DELETE", path: s.url, headers: bearer("wrong-token-0123456789") })).status,
    ).toBe(403);
    expect(await h.registry.getSession(s.id)).toBeUndefined();
    expect((await h.registry.getTombstone(s.id))?.reason).toBe("deleted");
  });

  it("a client that closes its peer before its DELETE (as many WHIP clients do) gets 200 with either credential; others 403/401/404", async () => {
    const s = await create();
    await s.c.connected(8000);
    const before = h.node.sessions();
    await s.c.close();
    await waitFor(
      async () => h.node.sessions() === before - 1 && (await h.registry.getSession(s.id)) === undefined,
      8000,
      "the node to end the session when the peer closed",
    );
    // GET says it ended, why and when (the node wrote the tombstone as it noticed the close)
    const g = await invoke({ method: "GET", path: s.url, headers: bearer(s.secret) });
    expect(g.status).toBe(200);
    expect(g.json()).toMatchObject({ id: s.id, kind: "session", state: "ended", endReason: "peer-closed" });
    // the session token (aiortc and Chromium clients use it) and the creator's token: both 200
    expect((await invoke({ method: "DELETE", path: s.url, headers: bearer(s.secret) })).status).toBe(200);
    expect((await invoke({ method: "DELETE", path: s.url, headers: bearer(API_TOKEN) })).status).toBe(200);
    expect((await invoke({ method: "DELETE", path: s.url, headers: bearer(s.secret) })).status).toBe(200);
    expect(
      (await invoke({ method: "DELETE", path: s.url, headers: bearer("another-token-0123456789") })).status,
    ).toBe(403);
    expect((await invoke({ method: "DELETE", path: s.url })).status).toBe(401);
    // the tombstone keeps the first end's reason
    expect((await h.registry.getTombstone(s.id))?.reason).toBe("peer-closed");
    // an id that was never created is 404 whatever the token
    const never = `${s.id.slice(0, 22)}${"A".repeat(22)}`;
    expect(
      (await invoke({ method: "DELETE", path: `/v1/sessions/${never}`, headers: bearer(API_TOKEN) })).status,
    ).toBe(404);
  });
});

describe("secrets stay out of logs", () => {
  it("no API token, session secret or Authorization value appears in any log line", async () => {
    const s = await create();
    await invoke({ method: "GET", path: s.url, headers: bearer(s.secret) });
    await invoke({ method: "DELETE", path: s.url, headers: bearer(s.secret) });
    const logs = h.logs();
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).toContain(s.id); // the session id is there (every line carries it)…
    expect(logs).not.toContain(s.secret); // …its secret never
    expect(logs).not.toContain(API_TOKEN);
    expect(logs).not.toContain(h.config.RTCGW_NODE_SECRET!);
  });
});
