// Two local gateways in one process (tests do this; so may an app that embeds rtcgw): each
// emulator answers with its own registry and node. The function handlers read their deps from
// one process-wide slot, so before each request was scoped, the second gateway's deps answered
// the first's offers (its sessions landed on the other node) and closing the second left the
// first answering 500 ("RTCGW_NODE_SECRET … must be set").
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServedLocalGateway, startLocalGateway } from "../../src/cli/local-gateway.js";
import { loadConfig } from "../../src/config/index.js";
import { createLogger } from "../../src/log/index.js";
import { ClientPeer } from "../support/client-peer.js";

const TOKEN = "two-gateways-token-0123456789abcdef";
let a: ServedLocalGateway;
let b: ServedLocalGateway | undefined;
const peers: ClientPeer[] = [];

async function gateway(): Promise<ServedLocalGateway> {
  const config = loadConfig({
    RECORDINGS_DIR: mkdtempSync(join(tmpdir(), "rtcgw-two-gw-")),
    RTCGW_API_TOKEN: TOKEN,
    LOG_LEVEL: "warn",
  });
  return startLocalGateway({ config, logger: createLogger({ level: "warn" }) });
}

/** an offer through `gw`'s emulator: its status and the session id */
async function offer(gw: ServedLocalGateway): Promise<{ status: number; id: string; body: string }> {
  const c = await ClientPeer.create({ direction: "sendonly", dataChannel: false, autoSend: false });
  peers.push(c);
  const res = await fetch(`${gw.emulator.url}/v1/whip?profile=echo`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/sdp" },
    body: c.offer,
  });
  return {
    status: res.status,
    id: res.headers.get("location")?.split("/").pop() ?? "",
    body: await res.text(),
  };
}

beforeAll(async () => {
  a = await gateway();
  b = await gateway();
}, 60_000);

afterAll(async () => {
  for (const p of peers) await p.close();
  await b?.close();
  await a?.close();
});

describe("two local gateways in one process", () => {
  it("each answers with its own registry and node", async () => {
    const onA = await offer(a);
    expect(onA.status, onA.body).toBe(201);
    expect(await a.registry.getSession(onA.id)).toBeDefined();
    expect(await b!.registry.getSession(onA.id)).toBeUndefined();
    expect(a.node.sessions()).toBe(1);
    expect(b!.node.sessions()).toBe(0);
    const onB = await offer(b!);
    expect(onB.status, onB.body).toBe(201);
    expect(await b!.registry.getSession(onB.id)).toBeDefined();
    expect(await a.registry.getSession(onB.id)).toBeUndefined();
  });

  it("closing one leaves the other answering", async () => {
    await b!.close();
    b = undefined;
    const again = await offer(a);
    expect(again.status, again.body).toBe(201);
    expect(await a.registry.getSession(again.id)).toBeDefined();
  });
});
