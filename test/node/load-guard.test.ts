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

it("a full core is busy even while the event loop reads below the line (libdatachannel's threads)", () => {
  const guard = new LoadGuard({ busyAt: 0.85, intervalMs: 500, windowMs: 2000, cpuCores: 1 });
  try {
    for (let i = 0; i < 4; i++) guard.observe(0.7, 0.6);
    expect(guard.busy).toBe(false);
    for (let i = 0; i < 4; i++) guard.observe(0.7, 0.97); // the core is full, the loop at 70 %
    expect(guard.cpu).toBeCloseTo(0.97, 5);
    expect(guard.busy).toBe(true);
    for (let i = 0; i < 4; i++) guard.observe(0.7, 0.5);
    expect(guard.busy).toBe(false);
  } finally {
    guard.stop();
  }
});

it("measures the process's CPU against its cores: a spinning loop reads as the CPU the process really got", async () => {
  // a window of one sample: the sample that covers the spin is the whole mean
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const guard = new LoadGuard({ busyAt: 0.85, intervalMs: 100, windowMs: 100, cpuCores: 1 });
  try {
    const until = Date.now() + 600;
    while (Date.now() < until) {
      // spin: the loop never yields, so the interval's sample comes after
    }
    const c = process.cpuUsage(c0);
    // what this process really got over the spin (on a shared machine, maybe far below 100 %)
    const got = (c.user + c.system) / 1000 / (performance.now() - t0);
    await new Promise((r) => setTimeout(r, 0)); // the overdue interval (older timer) samples first
    expect(got).toBeGreaterThan(0.02);
    expect(Math.abs(guard.cpu - got)).toBeLessThan(0.05 + got * 0.25);
    expect(guard.cpuCores).toBe(1);
  } finally {
    guard.stop();
  }
});
