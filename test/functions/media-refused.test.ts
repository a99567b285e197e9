// No hidden degradation: a session whose media cannot be assembled is refused 503 with a reason
// the client can read, and nothing is left behind — no session on the node, no registry record,
// no file. Here through the real functions and a real node whose RECORDINGS_DIR stops being a
// directory after the node started (its start check passed).
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ClientPeer } from "../support/client-peer.js";
import { type FnHarness, invoke, sdpHeaders, startFnHarness } from "./harness.js";

let h: FnHarness;
const peers: ClientPeer[] = [];
beforeAll(async () => {
  h = await startFnHarness();
});
afterAll(async () => {
  for (const p of peers) await p.close();
  await h?.close();
});

it("a record session whose files cannot be opened: 503 media-unavailable, no session, no record, no file", async () => {
  const dir = h.config.RECORDINGS_DIR;
  rmSync(dir, { recursive: true });
  writeFileSync(dir, "not a directory");
  try {
    const c = await ClientPeer.create({ direction: "sendonly", dataChannel: false });
    peers.push(c);
    const r = await invoke({
      method: "POST",
      path: "/v1/whip?profile=record",
      headers: sdpHeaders(),
      body: c.offer,
    });
    expect(r.status).toBe(503);
    expect(r.headers["retry-after"]).toBeDefined();
    expect(r.json().error).toBe("media-unavailable");
    expect(r.json().reason).toMatch(/record profile's media could not be set up/);
    expect(h.node.sessions()).toBe(0);
    expect(await h.registry.listSessionsByNode(h.node.id)).toEqual([]);
  } finally {
    rmSync(dir, { force: true });
  }
});

it("the same node still answers a session that needs no file (the refusal was that session's only)", async () => {
  const c = await ClientPeer.create();
  peers.push(c);
  const r = await invoke({
    method: "POST",
    path: "/v1/sessions?profile=echo",
    headers: sdpHeaders(),
    body: c.offer,
  });
  expect(r.status).toBe(201);
  const del = await invoke({
    method: "DELETE",
    path: r.headers.location!,
    headers: { authorization: `Bearer ${r.headers["rtcgw-session-token"]}` },
  });
  expect(del.status).toBe(200);
});

it("a record session that opened its WAV and then failed on its Ogg leaves neither (a file already there is kept)", async () => {
  // the node's control API directly, so the session id (and so the file names) is ours
  const { signRequest } = await import("../../src/control/hmac.js");
  const { randomBytes } = await import("node:crypto");
  const { mkdirSync, readFileSync, existsSync } = await import("node:fs");
  const dir = h.config.RECORDINGS_DIR;
  mkdirSync(dir, { recursive: true });
  const id = randomBytes(16).toString("base64url");
  writeFileSync(`${dir}/${id}.ogg`, "someone else's");
  const c = await ClientPeer.create({ direction: "sendonly", dataChannel: false });
  peers.push(c);
  const body = JSON.stringify({ sessionId: id, kind: "whip", profile: "record", offer: c.offer });
  const path = "/internal/sessions";
  const headers = signRequest(h.node.secret, h.node.id, "POST", path, body);
  const res = await fetch(`${h.node.controlUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  expect(res.status).toBe(503);
  expect(((await res.json()) as { error: string }).error).toBe("media-unavailable");
  expect(existsSync(`${dir}/${id}.wav`)).toBe(false);
  expect(readFileSync(`${dir}/${id}.ogg`, "utf8")).toBe("someone else's");
  // (the node's recordings probe, src/node/recordings-probe.ts, runs after a refusal: its
  // short-lived hidden file may be there for a moment)
  expect(readdirSync(dir).filter((f) => !f.startsWith(".rtcgw-probe-"))).toEqual([`${id}.ogg`]);
  expect(h.node.sessions()).toBe(0);
});
