// The emulator over real HTTP: wire request → event (route key, path parameters, duplicate
// headers, cookies, binary body) → handler → result (status, headers, one Set-Cookie per cookie,
// base64 bodies decoded); gateway answers for unmatched routes and throwing functions; the dev
// extras (demo page, recordings with path validation).
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../../src/emulator/server.js";
import { devStatic, safeRecordingPath } from "../../src/emulator/static.js";
import { createLogger } from "../../src/log/index.js";
import { optionsHandler } from "../../src/signaling/options.js";

let emu: Emulator;
/** the emulator's log lines (pino JSON) */
const logLines: Array<{ level: string; msg: string }> = [];
const seen: APIGatewayProxyEventV2[] = [];
const recDir = mkdtempSync(join(tmpdir(), "rtcgw-emu-rec-"));

beforeAll(async () => {
  mkdirSync(join(recDir, "2026-11-24"), { recursive: true });
  writeFileSync(join(recDir, "2026-11-24", "abc.wav"), Buffer.from("RIFF....WAVE"));
  writeFileSync(join(recDir, "top.ogg"), Buffer.from("OggS"));
  writeFileSync(join(recDir, ".hidden.wav"), Buffer.from("x"));
  emu = await startEmulator({
    port: 0,
    logger: createLogger({ level: "info", destination: logSink() }),
    extra: devStatic(recDir),
    handlers: {
      sessions: async (event) => {
        seen.push(event);
        if (event.routeKey === "DELETE /v1/sessions/{id}") throw new Error("boom");
        return {
          statusCode: 201,
          headers: { "X-Custom": "yes", "content-type": "application/octet-stream" },
          cookies: ["a=1; Path=/", "b=2; HttpOnly"],
          body: Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString("base64"),
          isBase64Encoded: true,
        };
      },
    },
  });
});
afterAll(async () => {
  await emu?.close();
});

function logSink(): PassThrough {
  const sink = new PassThrough();
  let rest = "";
  sink.on("data", (c: Buffer) => {
    const lines = (rest + c.toString("utf8")).split("\n");
    rest = lines.pop()!;
    for (const l of lines) if (l.trim()) logLines.push(JSON.parse(l));
  });
  return sink;
}

/** A raw HTTP/1.1 exchange, so duplicate headers reach the server exactly as written. */
function raw(request: string | Buffer): Promise<{ head: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = connect(emu.port, "127.0.0.1");
    const chunks: Buffer[] = [];
    s.on("data", (c) => chunks.push(c));
    s.on("end", () => {
      const all = Buffer.concat(chunks);
      const i = all.indexOf("\r\n\r\n");
      resolve({ head: all.subarray(0, i).toString(), body: all.subarray(i + 4) });
    });
    s.on("error", reject);
    s.write(request);
  });
}

describe("request → event", () => {
  it("builds the 2.0 event of a real request on a parameterised route", async () => {
    const body = Buffer.from([0x00, 0xff, 0x10]);
    const req = Buffer.concat([
      Buffer.from(
        "PATCH /v1/sessions/abcDEF123_-abcDEF123_-?x=1&x=2&y=%20z HTTP/1.1\r\n" +
          "Host: localhost\r\nX-Dup: one\r\nx-dup: two\r\nCookie: c1=v1; c2=v2\r\nCookie: c3=v3\r\n" +
          "User-Agent: raw-test\r\nContent-Type: application/octet-stream\r\n" +
          `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      ),
      body,
    ]);
    const res = await raw(req);
    expect(res.head).toMatch(/^HTTP\/1.1 201/);
    const ev = seen.at(-1)!;
    expect(ev.version).toBe("2.0");
    expect(ev.routeKey).toBe("PATCH /v1/sessions/{id}");
    expect(ev.requestContext.routeKey).toBe("PATCH /v1/sessions/{id}");
    expect(ev.pathParameters).toEqual({ id: "abcDEF123_-abcDEF123_-" });
    expect(ev.rawPath).toBe("/v1/sessions/abcDEF123_-abcDEF123_-");
    expect(ev.rawQueryString).toBe("x=1&x=2&y=%20z");
    expect(ev.queryStringParameters).toEqual({ x: "1,2", y: " z" });
    expect(ev.headers["x-dup"]).toBe("one,two");
    expect(ev.cookies).toEqual(["c1=v1", "c2=v2", "c3=v3"]);
    expect(ev.headers.cookie).toBeUndefined();
    expect(ev.isBase64Encoded).toBe(true);
    expect(Buffer.from(ev.body!, "base64")).toEqual(body);
    expect(ev.requestContext.http).toEqual({
      method: "PATCH",
      path: "/v1/sessions/abcDEF123_-abcDEF123_-",
      protocol: "HTTP/1.1",
      sourceIp: "127.0.0.1",
      userAgent: "raw-test",
    });
    expect(ev.requestContext.stage).toBe("$default");
    expect(Math.abs(ev.requestContext.timeEpoch - Date.now())).toBeLessThan(10_000);
  });
});

describe("result → response", () => {
  it("maps status, headers, each cookie to its own Set-Cookie, and decodes base64 bodies", async () => {
    const res = await raw(
      "GET /v1/sessions/abcDEF123_-abcDEF123_- HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    expect(res.head).toMatch(/^HTTP\/1.1 201/);
    expect(res.head).toMatch(/\r\nx-custom: yes/i);
    expect(res.head.match(/\r\nset-cookie: /gi)).toHaveLength(2);
    expect(res.head).toMatch(/set-cookie: a=1; Path=\//i);
    expect(res.body).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
  });

  it("HEAD reaches the function on its own route; the answer has the headers and no body", async () => {
    const res = await raw(
      "HEAD /v1/sessions/abcDEF123_-abcDEF123_- HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    expect(res.head).toMatch(/^HTTP\/1.1 201/);
    expect(res.head).toMatch(/\r\nx-custom: yes/i);
    expect(res.body.length).toBe(0);
    expect(seen.at(-1)?.routeKey).toBe("HEAD /v1/sessions/{id}");
  });

  it("answers like the gateway: 404 for no route, 500 when the function throws", async () => {
    const nf = await fetch(`${emu.url}/v1/nothing`);
    expect(nf.status).toBe(404);
    expect(await nf.json()).toEqual({ message: "Not Found" });
    const noHandler = await fetch(`${emu.url}/v1/health`); // route exists, function not deployed here
    expect(noHandler.status).toBe(404);
    const boom = await fetch(`${emu.url}/v1/sessions/abcDEF123_-abcDEF123_-`, { method: "DELETE" });
    expect(boom.status).toBe(500);
    expect(await boom.json()).toEqual({ message: "Internal Server Error" });
  });
});

describe("a client that hangs up mid-upload", () => {
  it("is logged as the client's doing (info), not 'emulator request failed' at error; the server goes on", async () => {
    const from = logLines.length;
    await new Promise<void>((resolve, reject) => {
      const s = connect(emu.port, "127.0.0.1", () => {
        // promises 1000 bytes, sends 10, leaves
        s.write(
          "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: 1000\r\n\r\nv=0\r\no=- 1",
        );
        setTimeout(() => {
          s.destroy();
          resolve();
        }, 50);
      });
      s.on("error", reject);
    });
    const deadline = Date.now() + 2000;
    while (!logLines.slice(from).some((l) => /client closed/.test(l.msg)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const lines = logLines.slice(from);
    expect(lines.find((l) => /client closed the request before its body was read/.test(l.msg))?.level).toBe(
      "info",
    );
    expect(lines.filter((l) => l.level === "error" || l.level === "fatal")).toEqual([]);
    expect((await fetch(`${emu.url}/v1/nothing`)).status).toBe(404);
  });

  it("a function that throws is still an error line", async () => {
    const from = logLines.length;
    await fetch(`${emu.url}/v1/sessions/abcDEF123_-abcDEF123_-`, { method: "DELETE" });
    await new Promise((r) => setTimeout(r, 50));
    expect(logLines.slice(from).some((l) => l.level === "error" && l.msg === "function threw")).toBe(true);
  });
});

describe("405 for a method a resource does not have (RFC 9110 §15.5.6)", () => {
  let real: Emulator;
  beforeAll(async () => {
    // the real options function: it answers every resource's ANY route
    real = await startEmulator({
      port: 0,
      logger: createLogger({ level: "silent" }),
      handlers: { options: optionsHandler() },
    });
  });
  afterAll(async () => {
    await real?.close();
  });

  it.each([
    ["GET", "/v1/whip", "POST, OPTIONS"],
    ["PUT", "/v1/whip", "POST, OPTIONS"],
    ["DELETE", "/v1/whip", "POST, OPTIONS"],
    ["POST", "/v1/sessions/abcDEF123_-abcDEF123_-", "GET, HEAD, PATCH, DELETE, OPTIONS"],
    ["PUT", "/v1/sessions/abcDEF123_-abcDEF123_-", "GET, HEAD, PATCH, DELETE, OPTIONS"],
    ["GET", "/v1/sessions", "POST, OPTIONS"],
    ["GET", "/v1/whep/abcDEF123_-abcDEF123_-", "POST, OPTIONS"],
    ["POST", "/v1/health", "GET, HEAD, OPTIONS"],
  ])("%s %s → 405, Allow: %s, the JSON error shape", async (method, path, allow) => {
    const r = await fetch(real.url + path, { method, ...(method === "GET" ? {} : { body: "x" }) });
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toBe(allow);
    expect(r.headers.get("content-type")).toBe("application/json");
    const body = (await r.json()) as { error: string; reason: string };
    expect(body.error).toBe("method-not-allowed");
    expect(body.reason).toBe(
      `${method} is not allowed on ${path.replace(/[A-Za-z0-9_-]{22}$/, "{id}")}; allowed: ${allow}`,
    );
  });

  it("a sub-resource of a session (e.g. /resume) is not the session: the gateway's 404, not 405", async () => {
    const r = await fetch(`${real.url}/v1/sessions/abcDEF123_-abcDEF123_-/resume`, { method: "POST" });
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ message: "Not Found" });
  });

  it("OPTIONS keeps its preflight answer", async () => {
    const r = await fetch(`${real.url}/v1/whip`, { method: "OPTIONS" });
    expect(r.status).toBe(204);
    expect(r.headers.get("accept-post")).toBe("application/sdp");
  });
});

describe("dev extras", () => {
  it("serves the demo page and lists recordings (no dotfiles)", async () => {
    const page = await fetch(`${emu.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    const list = (await (await fetch(`${emu.url}/recordings`)).json()) as { recordings: { path: string }[] };
    expect(list.recordings.map((r) => r.path).sort()).toEqual(["2026-11-24/abc.wav", "top.ogg"]);
    const wav = await fetch(`${emu.url}/recordings/2026-11-24/abc.wav`);
    expect(wav.status).toBe(200);
    expect(wav.headers.get("content-type")).toBe("audio/wav");
  });

  it("refuses traversal and anything but recordings", async () => {
    for (const p of ["..%2F..%2Fetc%2Fpasswd", "../package.json", ".hidden.wav", "%2e%2e/x.wav", "top.txt"]) {
      const r = await raw(`GET /recordings/${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(r.head, p).toMatch(/^HTTP\/1.1 404/);
    }
    expect(safeRecordingPath(recDir, "a/../../b.wav")).toBeUndefined();
    expect(safeRecordingPath(recDir, "ok.wav")).toBe(join(recDir, "ok.wav"));
  });
});
