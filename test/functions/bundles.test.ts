// The built function bundles run on their own in a fresh node process: options answers without
// any configuration, a registry that cannot be reached is a 503 (not a crash), a bad setting is
// a 500 whose log names the variable, and zod's validation messages survive the English-only
// locale trimming of the build.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { type BundleReport, buildFunctions } from "../../scripts/build-functions.js";

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
});
