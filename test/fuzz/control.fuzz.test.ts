// Fuzzing the control API (signaling → node), bounded: 2 000 requests to a real node's control
// server over HTTP, and 10 000 signatures and bodies through its verifier and schemas in-process — valid and broken signatures (wrong target node, stale or future timestamp,
// malformed or replayed nonce, a signature over another body), and bodies from mutated real
// create requests (mutated offers, wrong types, missing fields) to random JSON and bytes. Every
// answer is a 2xx or a 4xx with {error, reason}; what a request created is deleted by the property
// itself; the node holds as many sessions at the end as at the start.
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateSessionRequestSchema, PatchSessionRequestSchema } from "../../src/control/contract.js";
import { RequestVerifier, signRequest } from "../../src/control/hmac.js";
import { keepAliveAgents, request } from "../../src/http/client.js";
import { type Harness, newSessionId, startHarness } from "../node/harness.js";
import { CLIENT_OFFERS, clientOffer } from "../support/sdp-offers.js";
import { FUZZ_SEED, mutatedSdp } from "./mutate.js";

/** over real HTTP (each a few ms on a shared machine); the 10 000 run in-process below */
const HTTP_RUNS = 2_000;
const RUNS = 10_000;
let h: Harness;
const agents = keepAliveAgents();

beforeAll(async () => {
  h = await startHarness({ RTCGW_NODE_CAPACITY: "50" });
});
afterAll(async () => {
  await h?.close();
});

const offers = CLIENT_OFFERS.map(clientOffer);

const value: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

/** a create request, each field kept, dropped or replaced by something of another type */
const createBody = fc
  .record({
    sessionId: fc.oneof({ weight: 5, arbitrary: fc.constant("fresh") }, { weight: 1, arbitrary: value }),
    kind: fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom("session", "whip", "whep") },
      { weight: 1, arbitrary: value },
    ),
    profile: fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom("echo", "blackhole", "record") },
      { weight: 1, arbitrary: value },
    ),
    offer: fc.oneof(
      { weight: 4, arbitrary: mutatedSdp(offers) },
      { weight: 1, arbitrary: fc.constantFrom(...offers) },
      { weight: 1, arbitrary: value },
    ),
    etag: fc.oneof(
      {
        weight: 3,
        arbitrary: fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString("hex")),
      },
      { weight: 1, arbitrary: value },
    ),
    drop: fc.subarray(["sessionId", "kind", "profile", "offer", "etag"]),
    extra: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), value, { maxKeys: 2 })),
  })
  .map(({ drop, extra, ...f }) => {
    const o: Record<string, unknown> = { ...f, ...(extra ?? {}) };
    if (o.sessionId === "fresh") o.sessionId = newSessionId();
    for (const k of drop) delete o[k];
    return JSON.stringify(o);
  });

const body = fc.oneof(
  { weight: 6, arbitrary: createBody },
  { weight: 1, arbitrary: fc.json({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constant("") },
);

const signing = fc.constantFrom(
  "valid",
  "valid",
  "valid",
  "valid",
  "other-node",
  "stale",
  "future",
  "bad-nonce",
  "other-body",
  "replay",
  "unsigned",
  "garbage-signature",
);

const target = fc.oneof(
  { weight: 5, arbitrary: fc.constant(["POST", "/internal/sessions"] as [string, string]) },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constantFrom("GET", "PATCH", "DELETE", "PUT"),
      fc.constant("/internal/sessions/{id}"),
    ),
  },
  { weight: 1, arbitrary: fc.constant(["GET", "/internal/health"] as [string, string]) },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constantFrom("GET", "POST", "OPTIONS", "HEAD", "FOO"),
      fc.constantFrom(
        "/internal/sessions/",
        "/internal/x",
        "/",
        "/internal/sessions/a/b",
        "/internal/sessions/%ZZ",
        "/internal/sessions/%ZZ/resume",
      ),
    ),
  },
);

describe("control API fuzzing", () => {
  it(`${HTTP_RUNS} requests over HTTP: 2xx or a 4xx with {error, reason}; nothing left on the node`, {
    timeout: 120_000,
  }, async () => {
    const before = h.node.sessions();
    const statuses = new Map<number, number>();
    let lastSigned: Record<string, string> | undefined;
    await fc.assert(
      fc.asyncProperty(
        target,
        body,
        signing,
        fc.boolean(),
        async ([method, pattern], text, how, patchBody) => {
          const id = newSessionId();
          const path = pattern.replace("{id}", id);
          const sent = method === "POST" || (method === "PATCH" && patchBody) ? text : "";
          const now = Date.now();
          let headers: Record<string, string> = {};
          const sign = (t: string, at = now, over = sent) =>
            signRequest(h.node.secret, t, method, path, over, at);
          switch (how) {
            case "valid":
              headers = sign(h.node.id);
              break;
            case "other-node":
              headers = sign("node-some-other-worker");
              break;
            case "stale":
              headers = sign(h.node.id, now - 31_000);
              break;
            case "future":
              headers = sign(h.node.id, now + 31_000);
              break;
            case "bad-nonce":
              headers = { ...sign(h.node.id), "x-rtcgw-nonce": "zz" };
              break;
            case "other-body":
              headers = sign(h.node.id, now, `${sent} `);
              break;
            case "replay":
              headers = lastSigned ?? sign(h.node.id);
              break;
            case "garbage-signature":
              headers = { ...sign(h.node.id), "x-rtcgw-signature": randomBytes(32).toString("hex") };
              break;
            case "unsigned":
              break;
          }
          if (how === "valid") lastSigned = headers;
          if (sent) headers["content-type"] = "application/json";
          const res = await request(new URL(h.node.controlUrl + path), {
            method,
            headers,
            ...(sent ? { body: sent } : {}),
            timeoutMs: 10_000,
            agents,
          });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(res.status, `${how} ${method} ${path}: ${res.body.slice(0, 200)}`).toBeLessThan(500);
          if (how !== "valid" && how !== "replay" && method !== "FOO") expect(res.status).toBe(401);
          // Node's HTTP parser answers a method it does not know (400, no body) before our code runs
          if (method === "FOO") {
            expect(res.status).toBe(400);
            return;
          }
          if (res.status >= 400 && method !== "HEAD") {
            const j = JSON.parse(res.body) as { error?: unknown; reason?: unknown };
            expect(typeof j.error === "string" && typeof j.reason === "string" && j.reason.length > 0).toBe(
              true,
            );
          }
          if (res.status === 201) {
            // a mutated request that is still a good one: a real peer on the node; drop it at once
            const created = (JSON.parse(res.body) as { sessionId: string }).sessionId;
            const p = `/internal/sessions/${created}`;
            const del = await request(new URL(h.node.controlUrl + p), {
              method: "DELETE",
              headers: signRequest(h.node.secret, h.node.id, "DELETE", p, ""),
              timeoutMs: 10_000,
              agents,
            });
            expect(del.status).toBe(204);
          }
        },
      ),
      { numRuns: HTTP_RUNS, seed: FUZZ_SEED },
    );
    expect(h.node.sessions()).toBe(before);
    console.log("control fuzz statuses:", JSON.stringify(Object.fromEntries([...statuses].sort())));
  });

  it(`${RUNS} signatures and bodies through the verifier and the contract's schemas: only a valid, fresh, unseen signature for this node passes; nothing throws`, () => {
    const secret = "fuzz-control-secret-0123456789";
    const verifier = new RequestVerifier(secret, "node-a");
    let passed = 0;
    fc.assert(
      fc.property(
        target,
        body,
        signing,
        fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 80 }), { maxKeys: 4 }),
        ([method, pattern], text, how, noise) => {
          const path = pattern.replace("{id}", newSessionId());
          const now = Date.now();
          const s = (t: string, at = now, over = text) => signRequest(secret, t, method, path, over, at);
          const headers: Record<string, string> = {
            ...noise,
            ...(how === "valid" || how === "replay"
              ? s("node-a")
              : how === "other-node"
                ? s("node-b")
                : how === "stale"
                  ? s("node-a", now - 31_000)
                  : how === "future"
                    ? s("node-a", now + 31_000)
                    : how === "bad-nonce"
                      ? { ...s("node-a"), "x-rtcgw-nonce": "zz" }
                      : how === "other-body"
                        ? s("node-a", now, `${text} `)
                        : how === "garbage-signature"
                          ? { ...s("node-a"), "x-rtcgw-signature": randomBytes(32).toString("hex") }
                          : {}),
          };
          const v = verifier.verify(method, path, headers, text, now);
          expect(v.ok).toBe(how === "valid" || how === "replay");
          if (v.ok) {
            passed++;
            // the same request again is a replay
            expect(verifier.verify(method, path, headers, text, now)).toEqual({
              ok: false,
              reason: "replayed request",
            });
          } else expect(v.reason.length).toBeGreaterThan(0);
          // the body through the contract's schemas: parsed or refused, never thrown
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            return;
          }
          CreateSessionRequestSchema.safeParse(json);
          PatchSessionRequestSchema.safeParse(json);
        },
      ),
      { numRuns: RUNS, seed: FUZZ_SEED },
    );
    expect(passed).toBeGreaterThan(RUNS / 10);
  });
});
