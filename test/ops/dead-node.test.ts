// `rtcgw agent` replaces an instance whose node is dead while the instance is fine: once none of
// the instance's workers has been live (listed in the registry; when the agent cannot read the
// registry, a worker control port answering /metrics) for RTCGW_AGENT_UNHEALTHY_AFTER, it calls
// Auto Scaling's SetInstanceHealth (Unhealthy, respecting the group's health-check grace period) —
// never before that long after its own start, while the instance is not InService (Pending:Wait,
// Standby) or while it is terminating (the drain). The AWS endpoint is a local server speaking the
// Query API (as the deploy rehearsal's stand-in does), IMDS the rehearsal's stand-in: no real AWS.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { createLogger } from "../../src/log/index.js";
import { type Agent, runAgent } from "../../src/ops/agent.js";
import { loadAgentConfig } from "../../src/ops/agent-config.js";
import { DeadNodeWatch } from "../../src/ops/node-watch.js";
import { MemoryRegistry } from "../../src/registry/memory.js";
import { type Imds, startImds } from "../infra/rehearsal/imds.js";

describe("DeadNodeWatch (the decision)", () => {
  const GRACE = 300_000;
  it("reports once no worker has been live for the grace, counted from the agent's start", () => {
    const w = new DeadNodeWatch(GRACE, 0);
    // dead from the start: not before the grace has passed since the agent started
    expect(w.observe({ now: 1_000, live: false, lifecycle: "InService", terminating: false })).toBe(false);
    expect(w.observe({ now: GRACE - 1, live: false, lifecycle: "InService", terminating: false })).toBe(
      false,
    );
    expect(w.observe({ now: GRACE, live: false, lifecycle: "InService", terminating: false })).toBe(true);
    // once reported, not again
    w.reported();
    expect(w.observe({ now: GRACE * 2, live: false, lifecycle: "InService", terminating: false })).toBe(
      false,
    );
  });

  it("a live worker restarts the count; unknown liveness counts as live", () => {
    const w = new DeadNodeWatch(GRACE, 0);
    expect(w.observe({ now: GRACE - 10, live: true, lifecycle: "InService", terminating: false })).toBe(
      false,
    );
    expect(w.observe({ now: GRACE + 10, live: false, lifecycle: "InService", terminating: false })).toBe(
      false,
    );
    expect(
      w.observe({ now: 2 * GRACE - 11, live: undefined, lifecycle: "InService", terminating: false }),
    ).toBe(false);
    expect(w.observe({ now: 3 * GRACE - 11, live: false, lifecycle: "InService", terminating: false })).toBe(
      true,
    );
  });

  it("never while terminating (the drain), nor while not InService, and the count restarts after", () => {
    const w = new DeadNodeWatch(GRACE, 0);
    expect(w.observe({ now: GRACE, live: false, lifecycle: "InService", terminating: true })).toBe(false);
    expect(w.observe({ now: 2 * GRACE, live: false, lifecycle: "Standby", terminating: false })).toBe(false);
    expect(w.observe({ now: 3 * GRACE, live: false, lifecycle: undefined, terminating: false })).toBe(false);
    // back InService at 3 × GRACE: a whole grace from there
    expect(w.observe({ now: 4 * GRACE - 1, live: false, lifecycle: "InService", terminating: false })).toBe(
      false,
    );
    expect(w.observe({ now: 4 * GRACE, live: false, lifecycle: "InService", terminating: false })).toBe(true);
  });

  it("a grace of 0 never reports", () => {
    const w = new DeadNodeWatch(0, 0);
    expect(w.observe({ now: 10 * GRACE, live: false, lifecycle: "InService", terminating: false })).toBe(
      false,
    );
  });
});

// ---- the agent against local stand-ins

interface QueryCall {
  Action: string;
  [k: string]: string;
}
let aws: { url: string; calls: QueryCall[]; close(): Promise<void> };
let imds: Imds;
const saved: Record<string, string | undefined> = {};
const ENV = {
  AWS_REGION: "eu-west-1",
  AWS_ACCESS_KEY_ID: "AKIDAGENTTEST",
  AWS_SECRET_ACCESS_KEY: "agent-test-secret",
};

beforeAll(async () => {
  const calls: QueryCall[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      const p = Object.fromEntries(new URLSearchParams(body)) as QueryCall;
      // signed as the SDKs sign: SigV4 for the service the call names
      if (
        !/Credential=AKIDAGENTTEST\/\d{8}\/eu-west-1\/(autoscaling|monitoring)\/aws4_request/.test(
          String(req.headers.authorization),
        )
      )
        return void res.writeHead(403).end("unsigned");
      calls.push(p);
      res.writeHead(200, { "content-type": "text/xml" });
      res.end(
        `<${p.Action}Response><ResponseMetadata><RequestId>t</RequestId></ResponseMetadata></${p.Action}Response>`,
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  aws = {
    url,
    calls,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  imds = await startImds({
    privateIp: "127.0.0.1",
    publicIp: "203.0.113.9",
    instanceId: "i-0deadnode0000",
    role: "agent-test",
    accessKeyId: "AKIDIMDS",
  });
  const env: Record<string, string> = {
    ...ENV,
    AWS_ENDPOINT_URL_AUTO_SCALING: url,
    AWS_ENDPOINT_URL_CLOUDWATCH: url,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
  };
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await aws?.close();
  await imds?.close();
});

const agents: Agent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
  aws.calls.length = 0;
  imds.lifecycleState = "InService";
});

/** a port nothing listens on: the node's control port, dead */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function agentWith(registry: MemoryRegistry, port: number, unhealthyAfterS = "1"): Promise<Agent> {
  const config = loadConfig({
    RTCGW_NODE_URL: `http://127.0.0.1:${port}`,
    RTCGW_WORKERS: "1",
    LOG_LEVEL: "silent",
  });
  const a = await runAgent(
    config,
    loadAgentConfig({
      RTCGW_ASG_NAME: "rtcgw-nodes",
      RTCGW_LIFECYCLE_HOOK: "drain",
      RTCGW_AGENT_UNHEALTHY_AFTER: unhealthyAfterS,
    }),
    createLogger({ level: "silent" }),
    { registry },
  );
  agents.push(a);
  return a;
}

const healthCalls = () => aws.calls.filter((c) => c.Action === "SetInstanceHealth");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("rtcgw agent and a dead node", () => {
  it("no worker of this instance in the registry for RTCGW_AGENT_UNHEALTHY_AFTER: SetInstanceHealth Unhealthy for this instance, once, respecting the group's grace period", {
    timeout: 20_000,
  }, async () => {
    await agentWith(new MemoryRegistry(), await deadPort());
    await sleep(600);
    expect(healthCalls()).toEqual([]); // not before the grace since the agent's start
    const deadline = Date.now() + 5_000;
    while (healthCalls().length === 0 && Date.now() < deadline) await sleep(50);
    expect(healthCalls()).toEqual([
      expect.objectContaining({
        Action: "SetInstanceHealth",
        Version: "2011-01-01",
        InstanceId: "i-0deadnode0000",
        HealthStatus: "Unhealthy",
        ShouldRespectGracePeriod: "true",
      }),
    ]);
    await sleep(1_500);
    expect(healthCalls()).toHaveLength(1);
  });

  it("a worker of this instance in the registry keeps it healthy; so does a Standby instance with none", {
    timeout: 20_000,
  }, async () => {
    const port = await deadPort();
    const reg = new MemoryRegistry();
    await reg.registerNode(
      { id: "w0", controlUrl: `http://127.0.0.1:${port}`, capacity: 10, load: 0 },
      60_000,
    );
    await agentWith(reg, port);
    await sleep(2_500);
    expect(healthCalls()).toEqual([]);
    await agents.splice(0)[0]!.stop();

    imds.lifecycleState = "Standby";
    await agentWith(new MemoryRegistry(), port);
    await sleep(2_500);
    expect(healthCalls()).toEqual([]);
  });

  it("a registry the agent cannot read: a control port that answers /metrics is taken as alive (a registry outage must not replace every instance)", {
    timeout: 20_000,
  }, async () => {
    const metrics: Server = createServer((_req, res) => res.writeHead(200).end("# metrics\n"));
    await new Promise<void>((r) => metrics.listen(0, "127.0.0.1", r));
    const port = (metrics.address() as AddressInfo).port;
    const down = new MemoryRegistry();
    await down.close(); // every call: RegistryUnavailableError
    try {
      await agentWith(down, port);
      await sleep(2_500);
      expect(healthCalls()).toEqual([]);
    } finally {
      metrics.closeAllConnections();
      await new Promise<void>((r) => metrics.close(() => r()));
    }
    // nor does a dead control port then: unreadable registry and no answer = no live worker
    await agents.splice(0)[0]!.stop();
    await agentWith(down, await deadPort());
    const deadline = Date.now() + 5_000;
    while (healthCalls().length === 0 && Date.now() < deadline) await sleep(50);
    expect(healthCalls()).toHaveLength(1);
  });
});
