// The built function bundles run on their own in a fresh node process: options answers without
// any configuration, a registry that cannot be reached is a 503 (not a crash), a bad setting is
// a 500 whose log names the variable (zod/mini's messages intact in the bundle). And the whip
// bundle's first invocation against a real DynamoDB (dynalite) and a real media node answers 201
// without loading fetch (undici) or classic zod: both cost a cold start tens of milliseconds
// (docs/signaling.md, "Cold start").
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { type BundleReport, buildFunctions } from "../../scripts/build-functions.js";
import { loadConfig } from "../../src/config/index.js";
import { createLogger } from "../../src/log/index.js";
import { startMediaNode } from "../../src/node/index.js";
import { DynamoRegistry } from "../../src/registry/dynamodb.js";
import { ClientPeer } from "../support/client-peer.js";
import { startDynalite } from "../support/dynalite.js";
import { runChild } from "../support/run-child.js";

const dir = mkdtempSync(join(tmpdir(), "rtcgw-bundles-"));
let reports: BundleReport[];
const child = join(dir, "invoke.mjs");

beforeAll(async () => {
  reports = await buildFunctions({ registry: "dynamodb", outDir: join(dir, "out") });
  writeFileSync(
    child,
    `const m = await import(process.argv[2]);
const e = JSON.parse(process.argv[3]);
const r = await m.handler({ version: "2.0", rawQueryString: "", headers: {}, isBase64Encoded: false,
  requestContext: { http: { method: e.routeKey.split(" ")[0], path: e.rawPath } }, ...e });
process.stdout.write("\\nRESULT " + JSON.stringify(r) + "\\n");
process.exit(0);`,
  );
}, 120_000);

function invoke(
  name: string,
  event: { routeKey: string; rawPath: string },
  env: Record<string, string> = {},
) {
  const file = reports.find((r) => r.name === name)!.file;
  const r = spawnSync(process.execPath, [child, pathToFileURL(file).href, JSON.stringify(event)], {
    env: { PATH: process.env.PATH ?? "", AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: "1", ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
  const line = r.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) throw new Error(`bundle ${name} failed: ${r.stderr}`);
  return { result: JSON.parse(line.slice(7)), log: r.stdout };
}

describe("function bundles", () => {
  it("one self-contained ESM file per function, options without registry or zod", () => {
    expect(reports.map((r) => r.name).sort()).toEqual(["health", "options", "sessions", "whep", "whip"]);
    const options = readFileSync(reports.find((r) => r.name === "options")!.file, "utf8");
    expect(options.length).toBeLessThan(10_000);
    const whip = readFileSync(reports.find((r) => r.name === "whip")!.file, "utf8");
    expect(whip).not.toMatch(/ioredis/i);
    expect(whip).toContain("DynamoDB");
  });

  it("options answers the preflight with no configuration at all", () => {
    const { result } = invoke("options", { routeKey: "OPTIONS /v1/whip", rawPath: "/v1/whip" });
    expect(result.statusCode).toBe(204);
    expect(result.headers["accept-post"]).toBe("application/sdp");
  });

  it("an unreachable registry is a 503 with Retry-After", () => {
    const { result } = invoke(
      "health",
      { routeKey: "GET /v1/health", rawPath: "/v1/health" },
      {
        RTCGW_REGISTRY: "dynamodb:rtcgw-none@http://127.0.0.1:9",
        RTCGW_NODE_SECRET: "x".repeat(20),
        LOG_LEVEL: "silent",
      },
    );
    expect(result.statusCode).toBe(503);
    expect(result.headers["retry-after"]).toBeDefined();
  });

  it("a bad setting is a 500 that reveals nothing, and the log names the variable (zod messages intact)", () => {
    const { result, log } = invoke(
      "whip",
      { routeKey: "POST /v1/whip", rawPath: "/v1/whip" },
      { RTCGW_REGISTRY: "dynamodb:t@x", RTCGW_NODE_SECRET: "short-secret", LOG_LEVEL: "error" },
    );
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toMatch(/RTCGW_NODE_SECRET|short-secret/);
    expect(log).toMatch(/RTCGW_NODE_SECRET must be at least 16 characters/);
    expect(log).not.toContain("short-secret");
  });

  it("whip, fresh process, dynalite + a real media node: 201, and neither fetch (undici) nor classic zod loaded", async () => {
    const db = await startDynalite({ inMemory: true });
    const registry = new DynamoRegistry({ table: "rtcgw-bundle", endpoint: db.endpoint });
    await registry.ensureTable();
    const secret = "bundle-test-secret-0123456789";
    const config = loadConfig({
      RTCGW_NODE_SECRET: secret,
      LOG_LEVEL: "silent",
      RECORDINGS_DIR: join(dir, "rec"),
    });
    const node = await startMediaNode({
      config,
      registry,
      logger: createLogger({ level: "silent" }),
      controlPort: 0,
      udpPort: 0,
    });
    const client = await ClientPeer.create({ direction: "sendonly", dataChannel: false });
    try {
      const probe = join(dir, "probe.mjs");
      writeFileSync(
        probe,
        `const m = await import(process.argv[2]);
const r = await m.handler(JSON.parse(process.env.EVENT));
const undici = process.moduleLoadList.filter((x) => /undici/.test(x));
process.stdout.write("RESULT " + JSON.stringify({ status: r.statusCode, body: r.body, undici }) + "\\n");
process.exit(0);`,
      );
      const event = {
        version: "2.0",
        routeKey: "POST /v1/whip",
        rawPath: "/v1/whip",
        rawQueryString: "",
        headers: { host: "gw.test", "content-type": "application/sdp" },
        requestContext: { http: { method: "POST", path: "/v1/whip" } },
        body: client.offer,
        isBase64Encoded: false,
      };
      const file = reports.find((r) => r.name === "whip")!.file;
      // async spawn: dynalite and the node live in this process and must answer meanwhile
      const probed = await runChild(process.execPath, [probe, pathToFileURL(file).href], {
        env: {
          PATH: process.env.PATH ?? "",
          EVENT: JSON.stringify(event),
          RTCGW_REGISTRY: `dynamodb:rtcgw-bundle@${db.endpoint}`,
          RTCGW_NODE_SECRET: secret,
          LOG_LEVEL: "silent",
          AWS_REGION: "us-east-1",
        },
      });
      if (probed.code !== 0) throw new Error(`probe failed: ${probed.stderr}`);
      const line = probed.stdout.split("\n").find((l) => l.startsWith("RESULT "));
      const r = JSON.parse(line!.slice(7)) as { status: number; body: string; undici: string[] };
      expect(r.status, r.body).toBe(201);
      expect(r.body).toMatch(/^v=0\r\n/);
      expect(node.sessions()).toBe(1);
      expect(r.undici).toEqual([]);
      // classic zod's schema classes are named "ZodObject", "ZodString"…; zod/mini's "ZodMini…"
      const whip = readFileSync(file, "utf8");
      expect(whip).toContain('"ZodMiniObject"');
      expect(whip).not.toContain('"ZodObject"');
    } finally {
      await client.close();
      await node.close();
      await registry.close();
      await db.dispose();
    }
  }, 30_000);
});
