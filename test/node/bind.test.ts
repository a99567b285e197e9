// NODE_BIND_ADDRESS: the control API listens on the address it names (a VPC node's private
// address) and on no other; the default stays loopback.
import { connect } from "node:net";
import { afterEach, expect, it } from "vitest";
import { createLogger } from "../../src/log/index.js";
import { type MediaNode, startMediaNode } from "../../src/node/index.js";
import { MemoryRegistry } from "../../src/registry/memory.js";
import { testConfig } from "./harness.js";

const nodes: MediaNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

const reachable = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host, port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });

it("binds the control API to NODE_BIND_ADDRESS only", async () => {
  // 127.0.0.2 stands for the private address: on Linux all of 127/8 reaches the loopback interface
  const config = testConfig({ NODE_PORT: "0", NODE_BIND_ADDRESS: "127.0.0.2" });
  const node = await startMediaNode({
    config,
    registry: new MemoryRegistry(),
    logger: createLogger({ level: "silent" }),
  });
  nodes.push(node);
  const port = Number(new URL(node.controlUrl).port);
  expect(new URL(node.controlUrl).hostname).toBe("127.0.0.2");
  expect(await reachable("127.0.0.2", port)).toBe(true);
  expect(await reachable("127.0.0.1", port)).toBe(false);
  const metrics = await fetch(`http://127.0.0.2:${port}/metrics`);
  expect(metrics.status).toBe(200);
});

it("keeps the control API on loopback by default", async () => {
  const node = await startMediaNode({
    config: testConfig({ NODE_PORT: "0" }),
    registry: new MemoryRegistry(),
    logger: createLogger({ level: "silent" }),
  });
  nodes.push(node);
  expect(new URL(node.controlUrl).hostname).toBe("127.0.0.1");
});
