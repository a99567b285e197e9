// Admission by measured load: above the busy line the node refuses new sessions with 503
// node-busy (the signaling then picks another node); below it, it accepts.
import { afterEach, expect, it } from "vitest";
import { LoadGuard } from "../../src/node/process/load-guard.js";
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

it("a burst (one saturated interval) is not busy; saturation held over the window is", () => {
  const guard = new LoadGuard({ busyAt: 0.85, intervalMs: 500, windowMs: 2000 });
  try {
    for (const u of [0.4, 0.4, 0.4]) guard.observe(u);
    guard.observe(1); // 20 offers answered at once
    expect(guard.busy).toBe(false);
    for (const u of [0.95, 0.95, 0.95]) guard.observe(u); // media load that stays
    expect(guard.utilization).toBeCloseTo((1 + 0.95 * 3) / 4, 5);
    expect(guard.busy).toBe(true);
    for (const u of [0.3, 0.3]) guard.observe(u); // load goes away: admits again
    expect(guard.busy).toBe(false);
  } finally {
    guard.stop();
  }
});
