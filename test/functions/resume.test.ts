// POST /v1/sessions/{id}/resume through the function handlers, with a real node and real peers:
// the creator's Bearer and the Rtcgw-Session-Token both resume (200, the answer, a new ETag
// recorded, the same Location); a wrong or missing credential is refused and the session goes on
// untouched; the same SDP checks as a new offer; 410 Gone with the reason once the session has
// ended (its window passed) or its node is gone.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../node/harness.js";
import { ClientPeer } from "../support/client-peer.js";
import { type FnHarness, invoke, sdpHeaders, startFnHarness } from "./harness.js";

const API_TOKEN = "api-token-for-resume-0123456789";
let h: FnHarness;
const peers: ClientPeer[] = [];

beforeAll(async () => {
  h = await startFnHarness({
    RTCGW_API_TOKEN: API_TOKEN,
    RTCGW_RESUME_WINDOW: "1",
    RTCGW_MEDIA_TIMEOUT: "1",
  });
});
afterAll(async () => {
  for (const p of peers) await p.close();
  await h?.close();
});

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function peer() {
  const c = await ClientPeer.create({ direction: "sendrecv", dataChannel: false });
  peers.push(c);
  return c;
}

async function create() {
  const c = await peer();
  const r = await invoke({
    method: "POST",
    path: "/v1/sessions",
    headers: sdpHeaders(bearer(API_TOKEN)),
    body: c.offer,
  });
  expect(r.status).toBe(201);
  c.accept(r.body);
  await c.connected(5000);
  await c.until(() => c.firstSentAt !== undefined, 3000, "the caller sending");
  const url = r.headers.location!;
  return {
    c,
    url,
    id: url.split("/").pop()!,
    etag: r.headers.etag!,
    secret: r.headers["rtcgw-session-token"]!,
  };
}

const resume = (url: string, headers: Record<string, string>, body: string) =>
  invoke({ method: "POST", path: `${url}/resume`, headers, body });

describe("POST /v1/sessions/{id}/resume", () => {
  it("resumes with the creator's Bearer and with the session token: 200, answer, new ETag, same Location", {
    timeout: 30_000,
  }, async () => {
    const s = await create();
    s.c.stopSending();
    for (const cred of [API_TOKEN, s.secret]) {
      const c = await peer();
      const r = await resume(s.url, sdpHeaders(bearer(cred)), c.offer);
      expect(r.status, r.body).toBe(200);
      expect(r.headers["content-type"]).toBe("application/sdp");
      expect(r.body).toMatch(/^v=0\r?\n/);
      expect(r.headers.location).toBe(s.url);
      expect(r.headers.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
      expect(r.headers.etag).not.toBe(s.etag);
      // the new ETag is the one recorded for the session
      expect((await h.registry.getSession(s.id))?.etag).toBe(r.headers.etag!.slice(1, -1));
      c.accept(r.body);
      await c.connected(5000);
      await c.until(() => c.stats.packetsReceived >= 10, 5000, "echo on the resumed peer");
      c.stopSending();
    }
    const st = await invoke({ method: "GET", path: s.url, headers: bearer(s.secret) });
    expect(st.json()).toMatchObject({ id: s.id, resumes: 2 });
    expect((await invoke({ method: "DELETE", path: s.url, headers: bearer(s.secret) })).status).toBe(200);
  });

  it("a wrong or missing credential is refused and the session is untouched", {
    timeout: 20_000,
  }, async () => {
    const s = await create();
    const c = await peer();
    const none = await resume(s.url, sdpHeaders(), c.offer);
    expect(none.status).toBe(401);
    const other = await create();
    const wrong = await resume(s.url, sdpHeaders(bearer(other.secret)), c.offer);
    expect(wrong.status).toBe(403);
    const stranger = await resume(s.url, sdpHeaders(bearer("someone-else-0123456789")), c.offer);
    expect(stranger.status).toBe(403);
    // untouched: same ETag, still connected, its audio still echoed, never resumed
    expect((await h.registry.getSession(s.id))?.etag).toBe(s.etag.slice(1, -1));
    const n = s.c.stats.packetsReceived;
    await s.c.until(() => s.c.stats.packetsReceived > n + 20, 3000, "the echo goes on");
    const st = (await invoke({ method: "GET", path: s.url, headers: bearer(s.secret) })).json();
    expect(st.state).toBe("connected");
    expect(st.resumes).toBeUndefined();
    for (const x of [s, other]) await invoke({ method: "DELETE", path: x.url, headers: bearer(x.secret) });
  });

  it("the same SDP rules as a new offer: 415, 400, 422", { timeout: 20_000 }, async () => {
    const s = await create();
    const c = await peer();
    expect((await resume(s.url, { ...bearer(s.secret), "content-type": "text/plain" }, c.offer)).status).toBe(
      415,
    );
    expect((await resume(s.url, sdpHeaders(bearer(s.secret)), "hello")).status).toBe(400);
    const noCodec = c.offer.replace(/opus\/48000\/2/g, "G722/8000");
    expect((await resume(s.url, sdpHeaders(bearer(s.secret)), noCodec)).status).toBe(422);
    expect((await h.registry.getSession(s.id))?.etag).toBe(s.etag.slice(1, -1));
    await invoke({ method: "DELETE", path: s.url, headers: bearer(s.secret) });
  });

  it("410 Gone with the reason after the window, and when the session's node is gone", {
    timeout: 30_000,
  }, async () => {
    const s = await create();
    s.c.stopSending();
    // media timeout (1 s) → interrupted → the window (1 s) passes → ended
    await waitFor(async () => (await h.registry.getSession(s.id)) === undefined, 6000, "the session to end");
    const c = await peer();
    const late = await resume(s.url, sdpHeaders(bearer(API_TOKEN)), c.offer);
    expect(late.status).toBe(410);
    expect(late.json()).toMatchObject({ error: "session-ended" });
    expect(late.json().reason).toMatch(/ended/);
    // the session-token holder too: the tombstone recognises its token and says how it ended
    const lateToken = await resume(s.url, sdpHeaders(bearer(s.secret)), c.offer);
    expect(lateToken.status).toBe(410);
    expect(lateToken.json().reason).toMatch(/resume-timeout/);

    // a session whose node has left the registry
    const t = await create();
    const rec = (await h.registry.getSession(t.id))!;
    await h.registry.updateSession(t.id, rec.version, { nodeId: "node-that-is-gone" });
    const gone = await resume(t.url, sdpHeaders(bearer(t.secret)), c.offer);
    expect(gone.status).toBe(410);
    expect(gone.json().reason).toMatch(/media node of this session is gone/);
    expect(await h.registry.getSession(t.id)).toBeUndefined();
    expect((await h.registry.getTombstone(t.id))?.reason).toBe("node-lost");
  });
});
