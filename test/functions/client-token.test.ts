// Short-lived client tokens through the function handlers, against a real media node: the
// gateway has an API token and a token secret (RTCGW_TOKEN_SECRET); a browser's token is minted
// with mintClientToken ("rtcgw/token", what an application's backend calls) and posted as
// `Authorization: Bearer`. What each claim allows and refuses, with the reason in the usual JSON
// error shape; tokens that are not ours (expired, another secret, alg none, HS512, too long-lived)
// are 401; one token creates one session (its jti claimed in the registry); no refused request
// leaves a session behind.
import { readdirSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { mintClientToken } from "../../src/token/index.js";
import { ClientPeer } from "../support/client-peer.js";
import { type FnHarness, invoke, type Response, sdpHeaders, startFnHarness } from "./harness.js";

const API_TOKEN = "api-token-for-the-backend-0123";
const SECRET = "client-token-secret-0123456789abcdefghij";
let h: FnHarness;
let app: WebSocketServer;
let appUrl: string;
let otherUrl: string;
const dialed: string[] = [];
/** the first message on each of the application's sockets (its start) */
const starts: Array<Record<string, unknown>> = [];
const peers: ClientPeer[] = [];

beforeAll(async () => {
  app = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((r) => app.once("listening", () => r()));
  const port = (app.address() as AddressInfo).port;
  appUrl = `ws://127.0.0.1:${port}/agent`;
  otherUrl = `ws://127.0.0.1:${port}/elsewhere`;
  app.on("connection", (ws, req) => {
    dialed.push(req.url ?? "");
    ws.once("message", (d) => {
      try {
        starts.push(JSON.parse(String(d)));
      } catch {}
    });
  });
  h = await startFnHarness({
    RTCGW_API_TOKEN: API_TOKEN,
    RTCGW_TOKEN_SECRET: SECRET,
    RTCGW_BRIDGE_ALLOW: `ws://127.0.0.1:${port}/`,
  });
});
afterAll(async () => {
  for (const p of peers) await p.close();
  await h?.close();
  await new Promise((r) => app.close(r));
});

const offer = async () => {
  const c = await ClientPeer.create({ direction: "sendrecv", dataChannel: false });
  peers.push(c);
  return c;
};
const post = async (path: string, bearer: string | undefined, body?: string): Promise<Response> =>
  invoke({
    method: "POST",
    path,
    headers: sdpHeaders(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    body: body ?? (await offer()).offer,
  });
const sessionsNow = () => h.registry.size().sessions;

/** a refusal: the status, the code, a reason, and no session record left */
async function refused(r: Promise<Response>, status: number, error: string, reason: RegExp) {
  const before = sessionsNow();
  const res = await r;
  expect(res.status, res.body).toBe(status);
  expect(res.json()).toEqual({ error, reason: expect.stringMatching(reason) });
  if (status === 401) expect(res.headers["www-authenticate"]).toMatch(/^Bearer realm="rtcgw"/);
  expect(sessionsNow()).toBe(before);
  return res;
}

describe("a client token creates one session", () => {
  it("201 with a minted echo token; the call connects; the same token then owns the session (GET/DELETE)", async () => {
    const { token, claims } = await mintClientToken({ secret: SECRET, profiles: ["echo"] });
    const c = await offer();
    const r = await post("/v1/sessions?profile=echo", token, c.offer);
    expect(r.status, r.body).toBe(201);
    c.accept(r.body);
    await c.connected(8000);
    await c.until(() => c.stats.packetsReceived > 10, 8000, "echoed audio");
    // as RFC 9725 clients do, the creation Bearer reads and ends its own session
    const auth = { authorization: `Bearer ${token}` };
    expect((await invoke({ method: "GET", path: r.headers.location!, headers: auth })).status).toBe(200);
    expect((await invoke({ method: "DELETE", path: r.headers.location!, headers: auth })).status).toBe(200);
    // the log says which token created it (its id), never the token itself
    expect(h.logs()).toMatch(new RegExp(`"auth":"client-token","tokenId":"${claims.jti}"`));
    expect(h.logs()).not.toContain(token);
    expect(h.logs()).not.toContain(SECRET);
  });

  it("a second offer with the same token is 403 client-token-used", async () => {
    const { token } = await mintClientToken({ secret: SECRET });
    expect((await post("/v1/sessions", token)).status).toBe(201);
    await refused(post("/v1/sessions", token), 403, "client-token-used", /already been used/);
  });

  it("of 6 concurrent offers with one token exactly one is 201, the others 403 client-token-used", async () => {
    const { token } = await mintClientToken({ secret: SECRET });
    const bodies = await Promise.all(Array.from({ length: 6 }, async () => (await offer()).offer));
    const rs = await Promise.all(bodies.map((b) => post("/v1/sessions", token, b)));
    expect(rs.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of rs.filter((x) => x.status !== 201)) {
      expect(r.status).toBe(403);
      expect(r.json().error).toBe("client-token-used");
    }
  });

  it("a token no session came of is given back: a node's refusal (403) does not spend it", async () => {
    // the token's bridge URL is outside RTCGW_BRIDGE_ALLOW: the node refuses, no session exists
    const { token } = await mintClientToken({ secret: SECRET, bridge: { url: "ws://127.0.0.2:9/agent" } });
    await refused(post("/v1/sessions?profile=bridge", token), 403, "bridge-url-not-allowed", /./);
    // the same token again: the node's reason again, not client-token-used
    await refused(post("/v1/sessions?profile=bridge", token), 403, "bridge-url-not-allowed", /./);
  });

  it("a malformed offer is refused before the token is spent (400, then the token still works)", async () => {
    const { token } = await mintClientToken({ secret: SECRET });
    await refused(post("/v1/sessions", token, "not sdp"), 400, expect.any(String) as never, /./);
    expect((await post("/v1/sessions", token)).status).toBe(201);
  });
});

describe("minting", () => {
  it("refuses a bridge URL the signaling would refuse (a #fragment, a comma): such a token could never be used", async () => {
    const secret = "m".repeat(32);
    for (const url of ["ws://127.0.0.1:8765/agent#x", "ws://127.0.0.1:8765/a,b"])
      await expect(mintClientToken({ secret, bridge: { url } })).rejects.toThrow(/bridge URL/);
    await expect(
      mintClientToken({ secret, bridge: { url: "ws://127.0.0.1:8765/agent" } }),
    ).resolves.toBeDefined();
  });
});

describe("the claims bind the call", () => {
  it("a profile the token does not allow is 403 profile-not-allowed", async () => {
    const { token } = await mintClientToken({ secret: SECRET, profiles: ["echo"] });
    await refused(
      post(`/v1/sessions?profile=bridge&bridge=${encodeURIComponent(appUrl)}`, token),
      403,
      "profile-not-allowed",
      /allows the profile echo, not bridge/,
    );
  });

  it("recording needs record: /v1/whip (record by default) with an echo token is 403 record-not-allowed; with record it is 201", async () => {
    const echo = await mintClientToken({ secret: SECRET, profiles: ["echo"] });
    await refused(post("/v1/whip", echo.token), 403, "record-not-allowed", /does not allow recording/);
    await refused(
      post("/v1/sessions?profile=record", echo.token),
      403,
      "record-not-allowed",
      /does not allow recording/,
    );
    const rec = await mintClientToken({ secret: SECRET, record: true });
    const r = await post("/v1/whip", rec.token);
    expect(r.status, r.body).toBe(201);
    expect((await h.registry.getSession(r.headers.location!.split("/").pop()!))?.profile).toBe("record");
  });

  it("a recordRate in the token is the recording's rate: left out, the WAV is at it; another ?rate= is 403 record-rate-mismatch", async () => {
    const pinned = await mintClientToken({ secret: SECRET, record: true, recordRate: 8000 });
    await refused(
      post("/v1/whip?rate=48000", pinned.token),
      403,
      "record-rate-mismatch",
      /records at 8000 Hz, not 48000 \(leave \?rate= out to use it\)/,
    );
    const r = await post("/v1/whip", pinned.token);
    expect(r.status, r.body).toBe(201);
    const id = r.headers.location!.split("/").pop()!;
    const wav = readdirSync(h.config.RECORDINGS_DIR).find((f) => f.includes(id) && f.endsWith(".wav"));
    expect(wav).toBeDefined();
    // the WAV header's sample rate (RIFF fmt chunk, bytes 24–27)
    expect(readFileSync(join(h.config.RECORDINGS_DIR, wav!)).readUInt32LE(24)).toBe(8000);
    // without the claim, the client chooses
    const free = await mintClientToken({ secret: SECRET, record: true });
    expect((await post("/v1/whip?rate=24000", free.token)).status).toBe(201);
    // a rate the token could not be used with, or without recording, is refused at minting
    await expect(mintClientToken({ secret: SECRET, record: true, recordRate: 44100 })).rejects.toThrow(
      /record rate must be one of 8000, 16000, 24000, 48000/,
    );
    await expect(mintClientToken({ secret: SECRET, profiles: ["echo"], recordRate: 16000 })).rejects.toThrow(
      /needs a token that may record/,
    );
  });

  it("bridge: the node dials the token's URL with its parameters; ?bridge= may be left out or repeat it, never change it", async () => {
    const mint = () =>
      mintClientToken({
        secret: SECRET,
        bridge: { url: appUrl, params: { conversation: "c-42", agent: "sales" } },
      });
    // no ?bridge=: the token's URL, parameters included
    const a = await mint();
    expect(a.claims.bridge).toBe(`${appUrl}?conversation=c-42&agent=sales`);
    const r = await post("/v1/sessions?profile=bridge", a.token);
    expect(r.status, r.body).toBe(201);
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error("the node never dialed the application")), 5000);
      const poll = setInterval(() => {
        if (dialed.includes("/agent?conversation=c-42&agent=sales")) {
          clearInterval(poll);
          clearTimeout(t);
          res();
        }
      }, 20);
    });
    // the same URL repeated
    const b = await mint();
    expect(
      (await post(`/v1/sessions?profile=bridge&bridge=${encodeURIComponent(b.claims.bridge!)}`, b.token))
        .status,
    ).toBe(201);
    // another URL (even one RTCGW_BRIDGE_ALLOW would accept), or the same without its parameters
    for (const other of [otherUrl, appUrl]) {
      const c = await mint();
      await refused(
        post(`/v1/sessions?profile=bridge&bridge=${encodeURIComponent(other)}`, c.token),
        403,
        "bridge-url-mismatch",
        /must be the one in the client token/,
      );
    }
  });
});

describe("a bridge token pins the start parameters (bridge_param_*) and the protocol as it pins the URL", () => {
  const mint = (extra: { startParams?: Record<string, string>; protocol?: "rtcgw" | "twilio" } = {}) =>
    mintClientToken({ secret: SECRET, bridge: { url: appUrl, ...extra } });
  const waitStart = async (sessionId: string) => {
    const t0 = Date.now();
    for (;;) {
      const s = starts.find((m) => m.sessionId === sessionId);
      if (s) return s;
      if (Date.now() - t0 > 5000) throw new Error("no start message at the application");
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it("left out, the token's parameters reach the agent in its start; repeated exactly, 201", async () => {
    const a = await mint({ startParams: { customer: "c-42", lang: "de" } });
    expect(a.claims.bridgeParams).toEqual({ customer: "c-42", lang: "de" });
    const r = await post("/v1/sessions?profile=bridge", a.token);
    expect(r.status, r.body).toBe(201);
    const start = await waitStart(r.headers.location!.split("/").pop()!);
    expect(start.params).toEqual({ customer: "c-42", lang: "de" });
    const b = await mint({ startParams: { customer: "c-42", lang: "de" } });
    const same = await post(
      "/v1/sessions?profile=bridge&bridge_param_lang=de&bridge_param_customer=c-42",
      b.token,
    );
    expect(same.status, same.body).toBe(201);
  });

  it("a parameter changed, added or missing is 403 bridge-params-mismatch with the reason; no session", async () => {
    for (const [query, reason] of [
      ["bridge_param_customer=c-43&bridge_param_lang=de", /bridge_param_customer differs/],
      [
        "bridge_param_customer=c-42&bridge_param_lang=de&bridge_param_admin=1",
        /bridge_param_admin is not in the token/,
      ],
      ["bridge_param_customer=c-42", /bridge_param_lang is missing/],
    ] as const) {
      const t = await mint({ startParams: { customer: "c-42", lang: "de" } });
      await refused(
        post(`/v1/sessions?profile=bridge&${query}`, t.token),
        403,
        "bridge-params-mismatch",
        reason,
      );
    }
    // a token that names none allows none
    const bare = await mint();
    await refused(
      post("/v1/sessions?profile=bridge&bridge_param_customer=c-1", bare.token),
      403,
      "bridge-params-mismatch",
      /allows no bridge parameters \(bridge_param_customer is not in the token\)/,
    );
  });

  it("the protocol: left out, the token's (a twilio start); another is 403 bridge-protocol-mismatch", async () => {
    const t = await mint({ protocol: "twilio", startParams: { customer: "c-7" } });
    const r = await post("/v1/sessions?profile=bridge", t.token);
    expect(r.status, r.body).toBe(201);
    // the session's status: the leg speaks the token's protocol
    const auth = { authorization: `Bearer ${t.token}` };
    const st = await invoke({ method: "GET", path: r.headers.location!, headers: auth });
    expect(st.status).toBe(200);
    expect(st.json().bridge?.protocol).toBe("twilio");
    const u = await mint({ protocol: "twilio" });
    await refused(
      post("/v1/sessions?profile=bridge&bridge_protocol=rtcgw", u.token),
      403,
      "bridge-protocol-mismatch",
      /speaks twilio, not rtcgw/,
    );
  });

  it("record=1 on a bridge needs the token's record claim (403 record-not-allowed), and is 201 with it", async () => {
    const no = await mint();
    await refused(
      post("/v1/sessions?profile=bridge&record=1", no.token),
      403,
      "record-not-allowed",
      /record=1/,
    );
    const yes = await mintClientToken({ secret: SECRET, record: true, bridge: { url: appUrl } });
    const r = await post("/v1/sessions?profile=bridge&record=1", yes.token);
    expect(r.status, r.body).toBe(201);
  });
});

describe("options the profile would ignore are refused before the token is spent", () => {
  it("400 for record=1 or rate on echo, a repeated profile; the same token then creates its call", async () => {
    const { token } = await mintClientToken({ secret: SECRET, profiles: ["echo"], record: true });
    await refused(
      post("/v1/sessions?profile=echo&record=1", token),
      400,
      "option-not-for-profile",
      /\?record applies to the bridge profile only, not echo/,
    );
    await refused(
      post("/v1/sessions?profile=echo&rate=8000", token),
      400,
      "option-not-for-profile",
      /\?rate applies to the record profile only, not echo/,
    );
    await refused(post("/v1/sessions?profile=echo&profile=record", token), 400, "bad-profile", /one value/);
    const r = await post("/v1/sessions?profile=echo", token);
    expect(r.status, r.body).toBe(201);
  });

  it("a Bearer of characters RFC 6750 does not allow is 401 saying so, not 'requires Authorization'", async () => {
    await refused(post("/v1/sessions", `${API_TOKEN}!`), 401, "unauthorized", /not valid RFC 6750 syntax/);
    await refused(post("/v1/sessions", "api token"), 401, "unauthorized", /not valid RFC 6750 syntax/);
  });
});

describe("tokens that are not valid here are 401 invalid-client-token", () => {
  const claimsNow = () => ({ profiles: ["echo"], record: false });
  const sign = (alg: string, secret: string, iat: number, exp: number) =>
    new SignJWT(claimsNow())
      .setProtectedHeader({ alg, typ: "JWT" })
      .setAudience("rtcgw")
      .setJti("abcdefghijklmnopqrstuv")
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(secret));
  const now = () => Math.floor(Date.now() / 1000);

  it("expired", async () => {
    const { token } = await mintClientToken({
      secret: SECRET,
      ttlSeconds: 60,
      now: Date.now() - 10 * 60_000,
    });
    await refused(post("/v1/sessions", token), 401, "invalid-client-token", /has expired/);
  });

  it("signed with another secret", async () => {
    const { token } = await mintClientToken({ secret: "another-secret-0123456789abcdefghijkl" });
    await refused(post("/v1/sessions", token), 401, "invalid-client-token", /signature is not valid/);
  });

  it("a tampered claim (profiles widened, signature kept)", async () => {
    const { token } = await mintClientToken({ secret: SECRET, profiles: ["echo"] });
    const [head, body, sig] = token.split(".");
    const claims = JSON.parse(Buffer.from(body!, "base64url").toString());
    claims.record = true;
    const forged = `${head}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${sig}`;
    await refused(post("/v1/whip", forged), 401, "invalid-client-token", /signature is not valid/);
  });

  it('alg "none" (unsigned) and alg HS512 (signed with the right secret) are refused', async () => {
    const head = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
    const body = Buffer.from(
      JSON.stringify({
        ...claimsNow(),
        aud: "rtcgw",
        jti: "abcdefghijklmnopqrstuv",
        iat: now(),
        exp: now() + 60,
      }),
    ).toString("base64url");
    await refused(
      post("/v1/sessions", `${head}.${body}.`),
      401,
      "invalid-client-token",
      /must be signed with HS256 .*"none"/,
    );
    await refused(
      post("/v1/sessions", await sign("HS512", SECRET, now(), now() + 60)),
      401,
      "invalid-client-token",
      /must be signed with HS256 .*"HS512"/,
    );
  });

  it("not valid yet (nbf ahead of the gateway's clock): says so and what to check", async () => {
    const early = await new SignJWT(claimsNow())
      .setProtectedHeader({ alg: "HS256" })
      .setAudience("rtcgw")
      .setJti("abcdefghijklmnopqrstuv")
      .setIssuedAt()
      .setNotBefore(now() + 300)
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(SECRET));
    await refused(
      post("/v1/sessions", early),
      401,
      "invalid-client-token",
      /not valid before .*Z \(its "nbf"\).*clock/,
    );
  });

  it("a correctly signed token that lives longer than 900 s", async () => {
    await refused(
      post("/v1/sessions", await sign("HS256", SECRET, now(), now() + 3600)),
      401,
      "invalid-client-token",
      /lives longer than 900 s/,
    );
  });

  it("the wrong audience, and a token without its claims", async () => {
    const wrongAud = await new SignJWT(claimsNow())
      .setProtectedHeader({ alg: "HS256" })
      .setAudience("someone-else")
      .setJti("abcdefghijklmnopqrstuv")
      .setIssuedAt()
      .setExpirationTime("1m")
      .sign(new TextEncoder().encode(SECRET));
    await refused(
      post("/v1/sessions", wrongAud),
      401,
      "invalid-client-token",
      /"aud" claim is "someone-else", not "rtcgw": a token minted for another service/,
    );
    const bare = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setAudience("rtcgw")
      .setJti("abcdefghijklmnopqrstuv")
      .setIssuedAt()
      .setExpirationTime("1m")
      .sign(new TextEncoder().encode(SECRET));
    await refused(post("/v1/sessions", bare), 401, "invalid-client-token", /claims are malformed/);
  });

  it("no Bearer, or a Bearer that is neither the API token nor a JWT, is 401; the API token still creates", async () => {
    await refused(post("/v1/sessions", undefined), 401, "unauthorized", /client token from your backend/);
    await refused(
      post("/v1/sessions", "not-the-api-token-at-all"),
      401,
      "unauthorized",
      /neither the API token nor a client token/,
    );
    expect((await post("/v1/sessions?profile=record", API_TOKEN)).status).toBe(201);
  });
});
