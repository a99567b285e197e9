// Fuzzing the function handlers, bounded: 10 000 generated requests (method, path, id, headers,
// body — random and mutated real offers) through the real handlers (test/functions/harness.ts:
// the events API Gateway sends, a real media node behind). Every answer is a status below 500;
// every 4xx carries {error, reason}; nothing is left behind: what a request created (201) is
// deleted by the property itself, and at the end the registry and the node hold exactly what
// they held before.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FnHarness, invoke, startFnHarness } from "../functions/harness.js";
import { ClientPeer } from "../support/client-peer.js";
import { CLIENT_OFFERS, clientOffer } from "../support/sdp-offers.js";
import { FUZZ_SEED, mutatedSdp } from "./mutate.js";

const RUNS = 10_000;
const TOKEN = "fuzz-api-token-0123456789";
let h: FnHarness;
let live: { id: string; secret: string; client: ClientPeer };

beforeAll(async () => {
  h = await startFnHarness({ RTCGW_API_TOKEN: TOKEN });
  const client = await ClientPeer.create();
  const r = await invoke({
    method: "POST",
    path: "/v1/sessions",
    headers: { "content-type": "application/sdp", authorization: `Bearer ${TOKEN}` },
    body: client.offer,
  });
  expect(r.status).toBe(201);
  client.accept(r.body);
  live = { id: r.headers.location!.split("/").pop()!, secret: r.headers["rtcgw-session-token"]!, client };
});
afterAll(async () => {
  await live?.client.close();
  await h?.close();
});

const offers = CLIENT_OFFERS.map(clientOffer);
/** the ICE lines of each offer, as a client would trickle them (RFC 8840) */
const fragmentsOf = (sdps: string[]) =>
  sdps.map(
    (o) =>
      `${o
        .split("\r\n")
        .filter((l) => /^a=(ice-ufrag|ice-pwd|candidate|end-of-candidates|mid)|^m=/.test(l))
        .join("\r\n")}\r\n`,
  );

/** mostly a route that exists (so requests get past 405 into the handlers), sometimes any method */
const target: fc.Arbitrary<[string, string]> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      ["POST", "/v1/whip"],
      ["POST", "/v1/sessions"],
      ["GET", "/v1/sessions/{id}"],
      ["PATCH", "/v1/sessions/{id}"],
      ["DELETE", "/v1/sessions/{id}"],
      ["POST", "/v1/whep/{id}"],
      ["GET", "/v1/health"],
      ["OPTIONS", "/v1/sessions/{id}"],
    ) as fc.Arbitrary<[string, string]>,
  },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "FOO"),
      fc.constantFrom("/v1/whip", "/v1/sessions", "/v1/sessions/{id}", "/v1/whep/{id}", "/v1/health"),
    ),
  },
);

const request = fc.record({
  target,
  id: fc.oneof(
    { weight: 3, arbitrary: fc.constant("live") },
    fc
      .base64String({ minLength: 44, maxLength: 44 })
      .map((s) => s.replace(/\+/g, "-").replace(/\//g, "_").replace(/=/g, "A")),
    fc.string({ minLength: 1, maxLength: 80 }),
  ),
  contentType: fc.option(
    fc.oneof(
      fc.constantFrom(
        "application/sdp",
        "application/trickle-ice-sdpfrag",
        "application/json",
        "text/plain",
        "application/SDP; charset=utf-8",
        "",
      ),
      fc.string({ maxLength: 40 }),
    ),
  ),
  auth: fc.option(
    fc.oneof(
      fc.constantFrom(
        `Bearer ${TOKEN}`,
        "Bearer live-secret",
        "Bearer",
        "Basic Zm9vOmJhcg==",
        `bearer   ${TOKEN}  `,
      ),
      fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
      fc.string({ maxLength: 60 }),
    ),
  ),
  ifMatch: fc.option(fc.oneof(fc.constant("*"), fc.string({ maxLength: 30 }))),
  query: fc.option(
    fc.constantFrom(
      "?profile=record",
      "?profile=nope",
      "?profile=echo&profile=x",
      "?bridge=ws://evil/",
      "?%ZZ",
    ),
  ),
  body: fc.option(
    fc.oneof(
      { weight: 4, arbitrary: mutatedSdp(offers) },
      { weight: 1, arbitrary: fc.constantFrom(...offers) },
      { weight: 1, arbitrary: mutatedSdp(fragmentsOf(offers)) },
      { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
    ),
  ),
});

describe("HTTP fuzzing of the function handlers", () => {
  it(`${RUNS} generated requests: no 5xx, every 4xx with {error, reason}, nothing left behind`, {
    timeout: 120_000,
  }, async () => {
    const registryBefore = (await h.registry.listSessionsByNode(h.node.id)).map((s) => s.id).sort();
    const nodeBefore = h.node.sessions();
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (q) => {
        const id = q.id === "live" ? live.id : encodeURIComponent(q.id);
        const [method, resource] = q.target;
        const path = resource.replace("{id}", id) + (q.query ?? "");
        const headers: Record<string, string> = {};
        if (q.contentType !== null) headers["content-type"] = q.contentType;
        // the session's secret where a session is addressed, the API token where one is created
        const creating = resource === "/v1/whip" || resource === "/v1/sessions";
        if (q.auth !== null)
          headers.authorization = q.auth.replace("live-secret", creating ? TOKEN : live.secret);
        if (q.ifMatch !== null) headers["if-match"] = q.ifMatch;
        // every real request arrives by I/O: let timers run between them (the memory registry
        // answers in microtasks, and 10 000 of them back to back would starve the node's
        // heartbeat timer — its record would go stale and the node drop out of the pick)
        await new Promise((r) => setImmediate(r));
        let r: Awaited<ReturnType<typeof invoke>>;
        try {
          r = await invoke({ method, path, headers, ...(q.body !== null ? { body: q.body } : {}) });
        } catch (e) {
          // the harness refuses paths with no route (the gateway's own 404): only a bad escape
          if (/no route for/.test((e as Error).message)) return;
          throw e;
        }
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        expect(r.status, `${method} ${path}: ${r.body.slice(0, 200)}`).toBeLessThan(500);
        // HEAD (a GET route's): no body, whatever the status (RFC 9110 §9.3.2)
        if (method === "HEAD" && !["/v1/sessions", "/v1/whip", "/v1/whep/{id}"].includes(resource))
          expect(r.body, `${method} ${path}`).toBe("");
        else if (r.status >= 400) {
          const j = r.json();
          expect(typeof j.error === "string" && j.error.length > 0, r.body).toBe(true);
          expect(typeof j.reason === "string" && j.reason.length > 0, r.body).toBe(true);
        }
        if (r.status === 201) {
          // a mutated offer that is still a good offer: a real session; end it at once
          const created = r.headers.location!.split("/").pop()!;
          const del = await invoke({
            method: "DELETE",
            path: `/v1/sessions/${created}`,
            headers: { authorization: `Bearer ${r.headers["rtcgw-session-token"]}` },
          });
          expect(del.status).toBe(200);
        }
      }),
      { numRuns: RUNS, seed: FUZZ_SEED },
    );
    // nothing left behind but the live session (which a fuzzed DELETE with its secret may have ended)
    const after = (await h.registry.listSessionsByNode(h.node.id)).map((s) => s.id).sort();
    expect(after.every((id) => registryBefore.includes(id))).toBe(true);
    expect(h.node.sessions()).toBeLessThanOrEqual(nodeBefore);
    console.log("HTTP fuzz statuses:", JSON.stringify(Object.fromEntries([...statuses].sort())));
  });
});
