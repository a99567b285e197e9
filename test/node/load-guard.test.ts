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

it("a burst admitted faster than the window is refused before its load shows (projected at the measured cost per session), and the refusal gives the figures", () => {
  let t = 0;
  let held = 0;
  const guard = new LoadGuard({
    busyAt: 0.85,
    intervalMs: 500,
    windowMs: 2000,
    cpuCores: 1,
    sessions: () => held,
    now: () => t,
  });
  try {
    // 40 sessions measured at 0.8 % of the core each (32 %, fixed cost included)
    held = 40;
    for (let i = 0; i < 4; i++) guard.observe(0.3, 0.32);
    expect(guard.busy).toBe(false);
    // a burst: 60 more admitted within one interval; the means have not moved
    let admitted = 0;
    while (!guard.busy) {
      guard.admitted();
      held++;
      admitted++;
    }
    // 0.32 + n × 0.008 ≥ 0.85 → n = 67 would cross; the guard refuses at that line, not at 100 + …
    expect(guard.cpu).toBeCloseTo(0.32, 5);
    expect(guard.reason).toBe("cpu");
    expect(admitted).toBe(Math.ceil((0.85 - 0.32) / 0.008));
    expect(guard.unmeasured).toBe(admitted);
    // the refusal says why, in figures: the measured mean, the sessions not yet in it and their
    // charge, the line
    expect(guard.describe()).toBe(
      "CPU 32.0 % of 1 core measured + 67 session(s) not yet measured (0 connecting) at 0.8 % each = 85.6 %, line 85.0 %",
    );
    // once settled (window + 1 s later) they are in the means: measured, the line holds
    t += 3001;
    expect(guard.unmeasured).toBe(0);
    for (let i = 0; i < 4; i++) guard.observe(0.7, 0.86);
    expect(guard.busy).toBe(true);
    // sessions end, the load goes: it admits again
    held = 60;
    for (let i = 0; i < 4; i++) guard.observe(0.4, 0.5);
    expect(guard.busy).toBe(false);
  } finally {
    guard.stop();
  }
});

it("a session counts as unmeasured while it connects and until settleMs after its media started; one that ended, at once no more", () => {
  let t = 0;
  let held = 0;
  const guard = new LoadGuard({
    busyAt: 0.85,
    cpuCores: 1,
    settleMs: 3000,
    sessions: () => held,
    now: () => t,
  });
  try {
    held = 10;
    for (let i = 0; i < 4; i++) guard.observe(0.2, 0.1); // 10 measured at 1 % each
    const slow = { connected: false, closed: false };
    const quick = { connected: false, closed: false };
    for (const s of [slow, quick]) {
      guard.admitted({ started: () => s.connected, ended: () => s.closed });
      held++;
    }
    expect(guard.unmeasured).toBe(2);
    t += 5000; // ICE and DTLS under load: still connecting after more than settleMs
    expect(guard.unmeasured).toBe(2);
    slow.connected = true; // its media starts now: settleMs from here
    quick.closed = true; // the other ended before its media ever ran: it costs nothing more
    held--;
    expect(guard.unmeasured).toBe(1);
    t += 2999;
    expect(guard.unmeasured).toBe(1);
    t += 1;
    expect(guard.unmeasured).toBe(0);
  } finally {
    guard.stop();
  }
});

it("a steady stream of short calls that connect is not refused: calls that ended are not charged", () => {
  let t = 0;
  const live = new Set<{ closed: boolean }>();
  const guard = new LoadGuard({ busyAt: 0.85, cpuCores: 1, sessions: () => live.size, now: () => t });
  try {
    // 40 offers a second, each call connected at once and over after 250 ms; the node measures
    // 20 % of its core (their set-up) the whole time
    const ending: Array<{ closed: boolean; endsAt: number }> = [];
    let refused = 0;
    for (let ms = 0; ms < 10_000; ms += 25) {
      t = ms;
      for (const c of ending)
        if (!c.closed && c.endsAt <= t) {
          c.closed = true;
          live.delete(c);
        }
      if (ms % 500 === 0) guard.observe(0.2, 0.2);
      if (guard.busy) {
        refused++;
        continue;
      }
      const c = { closed: false, endsAt: t + 250 };
      guard.admitted({ started: () => true, ended: () => c.closed });
      live.add(c);
      ending.push(c);
    }
    // at most 10 calls are live at once, each charged at the prior (too few measured): 20 % + 15 %
    expect(guard.unmeasured).toBeLessThanOrEqual(10);
    expect(refused).toBe(0);
  } finally {
    guard.stop();
  }
});

it("with fewer than 4 sessions measured, a new one is projected at the prior (1.5 % of the cores)", () => {
  const t = 0;
  let held = 0;
  const guard = new LoadGuard({ busyAt: 0.5, cpuCores: 1, sessions: () => held, now: () => t });
  try {
    guard.observe(0.01, 0.005); // idle
    let admitted = 0;
    while (!guard.busy) {
      guard.admitted();
      held++;
      admitted++;
    }
    expect(guard.cpu).toBeCloseTo(0.005 / 4, 6); // one sample of a 4-sample window: the rest was idle
    expect(admitted).toBe(Math.ceil((0.5 - guard.cpu) / 0.015));
  } finally {
    guard.stop();
  }
});

it("a lagging loop is busy for one window, whatever its utilisation (a core shared with other work)", () => {
  const guard = new LoadGuard({ busyAt: 0.85, busyLagMs: 50, intervalMs: 500, windowMs: 2000, cpuCores: 1 });
  try {
    for (let i = 0; i < 4; i++) guard.observe(0.3, 0.3, 5);
    expect(guard.busy).toBe(false);
    guard.observe(0.4, 0.3, 120); // one stall: frames came out 120 ms late
    expect(guard.busy).toBe(true);
    expect(guard.reason).toBe("lag");
    for (let i = 0; i < 3; i++) guard.observe(0.3, 0.3, 5);
    expect(guard.busy).toBe(true); // still within the window
    guard.observe(0.3, 0.3, 5);
    expect(guard.busy).toBe(false);
    expect(guard.reason).toBeUndefined();
  } finally {
    guard.stop();
  }
});

it("a node whose media clock ran late refuses the next offer with 503 node-busy (lagging), and takes sessions again a window later", async () => {
  h = await startHarness({}, { busyUtilization: 0.99, busyLagMs: 50 });
  // one call in progress: the shared ticker runs its media clock
  const caller = await ClientPeer.create({ dataChannel: false });
  const first = await h.createSession(caller.offer);
  expect(first.status).toBe(201);
  await caller.accept(first.json.answer);
  await caller.connected();
  await new Promise((r) => setTimeout(r, 600));
  // a 300 ms stall of this process's loop (the node shares it here): the next ticks run late
  const until = performance.now() + 300;
  while (performance.now() < until) {}
  await new Promise((r) => setTimeout(r, 600)); // the guard's next sample covers the stall
  const c = await ClientPeer.create({ dataChannel: false });
  const r = await h.createSession(c.offer);
  expect(r.status).toBe(503);
  expect(r.json.error).toBe("node-busy");
  expect(JSON.stringify(r.json)).toMatch(/lagging/);
  expect(h.node.sessions()).toBe(1);
  await c.close();
  await new Promise((r) => setTimeout(r, 2000)); // the stall leaves the 2 s window
  // as a client would: again after Retry-After (on a shared machine another helper's load may
  // itself make this loop late for a while; the stall's own window is over by now)
  const c2 = await ClientPeer.create({ dataChannel: false });
  let r2 = await h.createSession(c2.offer);
  for (let i = 0; i < 5 && r2.status === 503; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    r2 = await h.createSession(c2.offer);
  }
  expect(r2.status).toBe(201);
  await h.call("DELETE", `/internal/sessions/${r2.sessionId}`);
  await h.call("DELETE", `/internal/sessions/${first.sessionId}`);
  await c2.close();
  await caller.close();
}, 20_000);

it("a node that just started is not busy on its first sample alone (the window before it was idle)", () => {
  const guard = new LoadGuard({ busyAt: 0.85, intervalMs: 500, windowMs: 2000, cpuCores: 1 });
  try {
    guard.observe(1, 1); // its first 500 ms: the first burst of offers answered
    expect(guard.busy).toBe(false);
    for (let i = 0; i < 3; i++) guard.observe(1, 1); // and it stays saturated: busy
    expect(guard.busy).toBe(true);
  } finally {
    guard.stop();
  }
});
