// Interop with a WebRTC stack nobody here wrote: aiortc (Debian's python3-aiortc) as a WHIP client
// and as a two-way client, with the API token as its Bearer for every request (RFC 9725 §4.5).
// aiortc ignores 127.0.0.1, so the node binds this machine's first non-loopback IPv4 address.

import { mkdtempSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServedLocalGateway, startLocalGateway } from "../../src/cli/local-gateway.js";
import { loadConfig } from "../../src/config/index.js";
import type { Emulator } from "../../src/emulator/server.js";
import { createLogger } from "../../src/log/index.js";
import type { MediaNode } from "../../src/node/index.js";
import { runChild } from "../support/run-child.js";

const PY = "/usr/bin/python3";
const CLIENT = fileURLToPath(new URL("./aiortc_client.py", import.meta.url));
const TOKEN = "interop-api-token-0123456789";
const lanAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === "IPv4" && !i.internal)?.address;

let gateway: ServedLocalGateway;
let node: MediaNode;
let emu: Emulator;

beforeAll(async () => {
  if (!lanAddress) throw new Error("this test needs a non-loopback IPv4 interface (aiortc skips 127.0.0.1)");
  const config = loadConfig({
    RECORDINGS_DIR: mkdtempSync(join(tmpdir(), "rtcgw-aiortc-")),
    MEDIA_BIND_ADDRESS: lanAddress,
    RTCGW_API_TOKEN: TOKEN,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
  });
  const logger = createLogger({ level: config.LOG_LEVEL });
  gateway = await startLocalGateway({ config, logger });
  ({ node, emulator: emu } = gateway);
}, 60_000);

afterAll(async () => {
  await gateway?.close();
});

/** What aiortc_client.py prints. */
interface ClientReport {
  status: number;
  error?: string;
  location?: string;
  etag?: string;
  connected?: boolean;
  statusCode?: number;
  session: {
    kind: string;
    state: string;
    resumes?: number;
    stats: { packetsIn: number; packetsOut: number };
  };
  framesReceived?: number;
  resumeStatus?: number;
  resumeLocation?: string;
  resumeError?: string;
  resumed?: boolean;
  resumedFramesReceived?: number;
  deleteStatus?: number;
}

async function runClient(
  path: string,
  direction: "sendonly" | "sendrecv",
  seconds = 3,
  resume = false,
): Promise<ClientReport> {
  const r = await runChild(PY, [
    CLIENT,
    `${emu.url}${path}`,
    TOKEN,
    String(seconds),
    direction,
    ...(resume ? ["resume"] : []),
  ]);
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as ClientReport;
  } catch {
    throw new Error(`aiortc client exited ${r.code}: ${r.stderr.slice(-2000)}`);
  }
}

describe("aiortc", () => {
  it("WHIP: 201, connects, the node receives its audio, DELETE with the same Bearer frees the session", async () => {
    const r = await runClient("/v1/whip?profile=echo", "sendonly");
    expect(r.status, r.error).toBe(201);
    expect(r.location).toMatch(/^\/v1\/sessions\/[A-Za-z0-9_-]{44}$/);
    expect(r.etag).toMatch(/^".+"$/);
    expect(r.connected).toBe(true);
    expect(r.statusCode).toBe(200);
    expect(r.session.kind).toBe("whip");
    expect(r.session.stats.packetsIn).toBeGreaterThan(50);
    expect(r.deleteStatus).toBe(200);
    expect(node.sessions()).toBe(0);
  }, 40_000);

  it("two-way session: aiortc hears the echo", async () => {
    const r = await runClient("/v1/sessions?profile=echo", "sendrecv");
    expect(r.status, r.error).toBe(201);
    expect(r.connected).toBe(true);
    expect(r.session.stats.packetsOut).toBeGreaterThan(50);
    expect(r.framesReceived).toBeGreaterThan(50);
    expect(r.deleteStatus).toBe(200);
  }, 40_000);

  it("resume: aiortc closes its peer mid-call (no DELETE), resumes the session with a new one and hears the echo again", async () => {
    const r = await runClient("/v1/sessions?profile=echo", "sendrecv", 2, true);
    expect(r.status, r.error).toBe(201);
    expect(r.connected).toBe(true);
    expect(r.resumeStatus, r.resumeError).toBe(200);
    expect(r.resumeLocation).toBe(r.location);
    expect(r.resumed).toBe(true);
    expect(r.resumedFramesReceived).toBeGreaterThan(50);
    expect(r.session).toMatchObject({ state: "connected", resumes: 1 });
    expect(r.deleteStatus).toBe(200);
    expect(node.sessions()).toBe(0);
  }, 60_000);
});
