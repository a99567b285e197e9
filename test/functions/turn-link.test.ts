// The TURN servers a 201 hands out, through the function handlers against a real media node: the
// node's own (its registry record's turnUrls, from RTCGW_NODE_TURN_URLS) first, then the static
// RTCGW_TURN_URLS, each with the one credential minted for the session from RTCGW_TURN_SECRET; a
// resume hands out the same. (That coturn accepts the credential and relays a call: test/e2e/turn.)
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientPeer } from "../support/client-peer.js";
import { type FnHarness, invoke, sdpHeaders, startFnHarness } from "./harness.js";

const SECRET = "turn-shared-secret-for-the-link-test";
const NODE_TURN = ["turn:203.0.113.7:3478?transport=udp", "turn:203.0.113.7:3478?transport=tcp"];
const STATIC_TURN = "turn:turn.example.net:3478?transport=udp";
let h: FnHarness;
const peers: ClientPeer[] = [];

beforeAll(async () => {
  h = await startFnHarness({
    RTCGW_TURN_SECRET: SECRET,
    RTCGW_NODE_TURN_URLS: NODE_TURN.join(","),
    RTCGW_TURN_URLS: STATIC_TURN,
  });
});
afterAll(async () => {
  for (const p of peers) await p.close();
  await h?.close();
});

/** [url, username, credential] of each rel="ice-server" Link value */
function turnLinks(link: string | undefined): [string, string, string][] {
  return [
    ...(link ?? "").matchAll(
      /<([^>]+)>; rel="ice-server"; username="([^"]+)"; credential="([^"]+)"; credential-type="password"/g,
    ),
  ].map((m) => [m[1]!, m[2]!, m[3]!]);
}

describe("TURN Link headers from the node's registry record", () => {
  it("the node's record carries its TURN URLs; the 201 lists them first, then the static ones, with the session's credential", async () => {
    const rec = await h.registry.getNode(h.node.id);
    expect(rec?.turnUrls).toEqual(NODE_TURN);
    const c = await ClientPeer.create({ dataChannel: false });
    peers.push(c);
    const r = await invoke({ method: "POST", path: "/v1/whip", headers: sdpHeaders(), body: c.offer });
    expect(r.status).toBe(201);
    const id = r.headers.location!.split("/").pop()!;
    const links = turnLinks(r.headers.link);
    expect(links.map(([u]) => u)).toEqual([...NODE_TURN, STATIC_TURN]);
    for (const [, username, credential] of links) {
      expect(username).toMatch(new RegExp(`^\\d+:${id}$`));
      expect(credential).toBe(createHmac("sha1", SECRET).update(username).digest("base64"));
    }

    // a resume's new peer gets the same node's TURN server
    const again = await ClientPeer.create({ dataChannel: false });
    peers.push(again);
    const token = r.headers["rtcgw-session-token"]!;
    const resumed = await invoke({
      method: "POST",
      path: `/v1/sessions/${id}/resume`,
      headers: { ...sdpHeaders(), authorization: `Bearer ${token}`, "if-match": r.headers.etag! },
      body: again.offer,
    });
    expect(resumed.status, resumed.body).toBe(200);
    expect(turnLinks(resumed.headers.link).map(([u]) => u)).toEqual([...NODE_TURN, STATIC_TURN]);
  });
});
