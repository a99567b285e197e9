// A function bundle must carry only the registry store it uses: esbuild `define`s
// process.env.RTCGW_BUNDLE_REGISTRY and the other stores (and their SDKs) fall away as dead code.
// The DynamoDB store speaks HTTP itself (dynamodb-http.ts): no bundle carries the AWS SDK.
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const entry = fileURLToPath(new URL("../../src/registry/index.ts", import.meta.url));

async function bundle(store?: string) {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    minify: true,
    write: false,
    metafile: true,
    logLevel: "silent",
    ...(store ? { define: { "process.env.RTCGW_BUNDLE_REGISTRY": JSON.stringify(store) } } : {}),
  });
  const inputs = Object.keys(r.metafile.inputs);
  return {
    bytes: r.outputFiles.reduce((n, f) => n + f.contents.byteLength, 0),
    has: (pkg: string) => inputs.some((i) => i.includes(`node_modules/${pkg}/`)),
    hasFile: (name: string) => inputs.some((i) => i.endsWith(`src/registry/${name}`)),
  };
}

describe("registry bundles", () => {
  it("memory: no store SDK at all, a few kB", async () => {
    const b = await bundle("memory");
    expect(b.hasFile("memory.ts")).toBe(true);
    expect(b.hasFile("redis.ts") || b.hasFile("dynamodb.ts")).toBe(false);
    expect(b.has("ioredis") || b.has("@aws-sdk")).toBe(false);
    expect(b.bytes).toBeLessThan(30_000);
  });

  it("redis: ioredis, no AWS SDK", async () => {
    const b = await bundle("redis");
    expect(b.has("ioredis")).toBe(true);
    expect(b.has("@aws-sdk")).toBe(false);
    expect(b.hasFile("dynamodb.ts") || b.hasFile("memory.ts")).toBe(false);
  });

  it("dynamodb: the store over aws4 + node:http, no AWS SDK, no fetch signer, no ioredis", async () => {
    const b = await bundle("dynamodb");
    expect(b.hasFile("dynamodb.ts") && b.hasFile("dynamodb-http.ts")).toBe(true);
    expect(b.has("aws4")).toBe(true);
    expect(b.has("aws4fetch")).toBe(false);
    expect(b.has("@aws-sdk") || b.has("@smithy")).toBe(false);
    expect(b.has("ioredis")).toBe(false);
    expect(b.hasFile("redis.ts") || b.hasFile("memory.ts")).toBe(false);
  });

  it("without the define every store is available", async () => {
    const b = await bundle();
    expect(b.has("ioredis") && b.hasFile("dynamodb.ts") && b.hasFile("memory.ts")).toBe(true);
    expect(b.has("@aws-sdk")).toBe(false);
  });
});
