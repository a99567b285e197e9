// The committed pkg/ loads in a real browser (Chromium via playwright-core) the way a wasm-pack
// `--target web` package does: ES module import, .wasm fetched beside the loader, SIMD picked by
// WebAssembly.validate, and it gives the same samples as in Node.

import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadResampler } from "../../../src/audio/resampler/index.js";

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../wasm/resampler/pkg");
const TYPES: Record<string, string> = {
  ".js": "text/javascript",
  ".wasm": "application/wasm",
  ".json": "application/json",
};

let server: Server;
let browser: Browser;
let base: string;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const name = path.basename(new URL(req.url ?? "/", "http://x").pathname);
    if (name === "" || name === "/") {
      res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>rs</title>");
      return;
    }
    try {
      const body = await readFile(path.join(pkg, name));
      res
        .writeHead(200, { "content-type": TYPES[path.extname(name)] ?? "application/octet-stream" })
        .end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
});

// deterministic input, the same in both worlds
const signal = (n: number) =>
  Array.from({ length: n }, (_, i) => 0.4 * Math.sin(i * 0.05) + 0.1 * Math.sin(i * 1.3));

describe("pkg in Chromium", () => {
  it("imports, picks SIMD, resamples 48k -> 16k like Node does", async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    // a string, not a function: vitest would rewrite import() inside a function body
    const got = (await page.evaluate(`(async () => {
      const m = await import(${JSON.stringify(`${base}/rtcgw_resampler.js`)});
      const mod = await m.default();
      const rs = mod.create(48000, 16000, 1, { preset: "voice" });
      const x = Float32Array.from(${JSON.stringify(signal(4800))});
      const out = [...rs.processF32(x), ...rs.flushF32()];
      rs.free();
      return { simd: mod.simd, probe: m.simdSupported(), out };
    })()`)) as { simd: boolean; probe: boolean; out: number[] };
    await page.close();
    expect(got.probe).toBe(true);
    expect(got.simd).toBe(true);
    const k = await loadResampler({ simd: true });
    const rs = k.createResampler({ inRate: 48000, outRate: 16000, channels: 1 });
    const x = Float32Array.from(signal(4800));
    const ref = [...rs.processF32(x), ...rs.flushF32()];
    expect(got.out.length).toBe(1600);
    expect(got.out).toEqual(ref);
  });
});
