// Admission by measured load: above the busy line the node refuses new sessions with 503
// node-busy (the signaling then picks another node); below it, it accepts.
import { afterEach, expect, it } from "vitest";
import { ClientPeer } from "../support/client-peer.js";
import { type Harness, startHarness } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it("a saturated node refuses new sessions with 503 node-busy and Retry-After", async () => {
  h = await startHarness({}, { busyUtilization: 0 }); // any utilisation is "saturated"
  const c = await ClientPeer.create({ dataChannel: false });
  const r = await h.createSession(c.offer);
  expect(r.status).toBe(503);
  expect(r.json.error).toBe("node-busy");
  expect(h.node.sessions()).toBe(0);
  const metrics = await (await fetch(`${h.node.controlUrl}/metrics`)).text();
  expect(metrics).toMatch(/rtcgw_event_loop_utilization\{[^}]*\} [\d.]+/);
  await c.close();
});

it("an idle node accepts", async () => {
  h = await startHarness({}, { busyUtilization: 0.99 });
  const c = await ClientPeer.create({ dataChannel: false });
  const r = await h.createSession(c.offer);
  expect(r.status).toBe(201);
  await h.call("DELETE", `/internal/sessions/${r.sessionId}`);
  await c.close();
});
