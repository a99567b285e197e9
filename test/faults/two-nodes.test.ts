// The fault suite (npm run test:faults): a real two-node deployment on Redis (test/faults/
// deployment.ts) with live node-datachannel callers, and faults injected for real.
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_RECORDINGS_MIN_FREE_MB } from "../../src/config/index.js";
import { type Call, canMountTmpfs, Deployment } from "./deployment.js";

let d: Deployment | undefined;
afterEach(async () => {
  await d?.down();
  d = undefined;
});

/** the callers' received packet counts now */
const received = (calls: { client: { stats: { packetsReceived: number } } }[]) =>
  calls.map((c) => c.client.stats.packetsReceived);

for (const store of ["redis", "dynamodb"] as const) {
  describe(`two nodes on ${store === "redis" ? "Redis" : "DynamoDB (dynalite)"}`, () => {
    it("kill -9 of one node mid-call: no client of the survivor notices", { timeout: 120_000 }, async () => {
      d = new Deployment();
      await d.up({ store });
      const calls: Call[] = [];
      // equally loaded nodes are picked at random (weighted by free slots: LOAD_BAND in
      // src/registry/pick.ts), so 6 calls all landed on one node 1 time in 32: calls are placed
      // until each node has at least two (all of 20 on one node would be 1 in 500 000)
      const on = (id: string) => calls.filter((c) => c.nodeId === id).length;
      while (calls.length < 20) {
        calls.push(await d.call());
        const ids = [...new Set(calls.map((c) => c.nodeId))];
        if (calls.length >= 6 && ids.length === 2 && ids.every((id) => on(id) >= 2)) break;
      }
      const nodeIds = [...new Set(calls.map((c) => c.nodeId))];
      expect(nodeIds.length, `the signaling spread ${calls.length} calls over both nodes`).toBe(2);
      const records = await d.registry.listNodes();
      // node ids carry their process id: node-<host>-<pid>-<random>
      const victim = d.nodes.find((p) =>
        records.some((r) => r.id.includes(`-${p.child.pid}-`) && r.id === nodeIds[0]),
      )!;
      expect(victim).toBeDefined();
      const survivors = calls.filter((c) => c.nodeId !== nodeIds[0]);
      const before = received(survivors);
      victim.child.kill("SIGKILL");
      await new Promise((r) => setTimeout(r, 3000));
      const after = received(survivors);
      // 3 s of echo: ~150 packets each, none of the survivor's calls interrupted
      for (const [i, n] of after.entries()) expect(n - before[i]!).toBeGreaterThan(100);
      for (const c of survivors) expect(c.client.state).toBe("connected");
      for (const c of survivors) expect((await d.registry.getSession(c.id))?.state).toBe("connected");
    });

    it("kill -9 of one node: every new offer in the next 15 s is placed (0 × 5xx)", {
      timeout: 120_000,
    }, async () => {
      d = new Deployment();
      await d.up({ store });
      const victimRecord = (await d.registry.listNodes())[0]!;
      const victim = d.nodes.find((p) => victimRecord.id.includes(`-${p.child.pid}-`))!;
      victim.child.kill("SIGKILL");
      const statuses: number[] = [];
      const t0 = Date.now();
      while (Date.now() - t0 < 15_000) {
        statuses.push((await d.offer()).status);
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(statuses.filter((s) => s >= 500)).toEqual([]);
    });

    it("SIGTERM to a node under load: stops taking offers at once, its calls are closed at the drain deadline, every recording valid", {
      timeout: 120_000,
    }, async () => {
      d = new Deployment();
      await d.up({ store });
      const calls: Call[] = [];
      for (let i = 0; i < 6; i++) calls.push(await d.call("record"));
      const target = calls[0]!.nodeId;
      const onTarget = calls.filter((c) => c.nodeId === target);
      const proc = d.nodes.find((p) => target.includes(`-${p.child.pid}-`))!;
      const t0 = Date.now();
      proc.child.kill("SIGTERM");
      await d.until(
        async () => (await d!.registry.getNode(target))?.draining === true,
        2000,
        "draining in the registry",
      );
      // new offers go to the other node
      for (let i = 0; i < 3; i++) {
        const c = await d.call("record");
        expect(c.nodeId).not.toBe(target);
      }
      expect(await proc.exit).toBe(0);
      expect(Date.now() - t0).toBeLessThan(3000 + 5000); // RTCGW_DRAIN_TIMEOUT 3 s + teardown
      for (const c of onTarget) {
        const { readFileSync } = await import("node:fs");
        const wav = readFileSync(`${d.recordings}/${c.id}.wav`);
        expect(wav.toString("ascii", 0, 4)).toBe("RIFF");
        // the header claims exactly what the file holds: the file was closed, not cut
        expect(wav.readUInt32LE(40) + 44).toBe(wav.length);
        expect(wav.length).toBeGreaterThan(44 + 96_000); // > 1 s of 48 kHz audio
      }
    });

    it(`${store === "redis" ? "Redis stopped 10 s and started again (empty)" : "the DynamoDB endpoint unreachable for 10 s"}: live calls untouched, offers 503 + Retry-After in time, nodes re-register, no session orphaned`, {
      timeout: 150_000,
    }, async () => {
      d = new Deployment();
      await d.up({ store });
      const calls: Call[] = [];
      for (let i = 0; i < 4; i++) calls.push(await d.call());
      const before = received(calls);
      await d.redis.stop();
      // offers while the registry is down: refused quickly with a retry hint, never a hang
      const during = [];
      for (let i = 0; i < 3; i++) during.push(await d.offer());
      await new Promise((r) => setTimeout(r, 10_000 - 3 * 100));
      // live calls never noticed: ~10 s of echo each
      const mid = received(calls);
      for (const [i, n] of mid.entries()) expect(n - before[i]!).toBeGreaterThan(400);
      for (const c of calls) expect(c.client.state).toBe("connected");
      await d.redis.start(); // Redis: empty (no persistence); dynalite: its data kept
      // nodes re-register by themselves, and write their live sessions' records again
      await d.until(
        async () =>
          (await d!.registry.listNodes().catch(() => [])).length === 2 &&
          (await Promise.all(calls.map((c) => d!.registry.getSession(c.id).catch(() => undefined)))).every(
            Boolean,
          ),
        15_000,
        "nodes and live sessions back in the registry",
      );
      for (const s of during) {
        expect(s.status).toBe(503);
        expect(s.retryAfter).toMatch(/^\d+$/);
        expect(s.ms).toBeLessThan(10_000);
      }
      // the calls still end normally, through the signaling, and leave nothing behind
      for (const c of calls) {
        const del = await d.end(c);
        expect(del.status).toBe(200);
      }
      await d.until(
        async () =>
          (await Promise.all(calls.map((c) => d!.registry.getSession(c.id)))).every((s) => s === undefined),
        5_000,
        "no session record left",
      );
    });
  });
}

describe("the recordings disk full mid-call", () => {
  it("files closed valid at the limit; the session's status and the node's metrics say so", {
    timeout: 120_000,
  }, async () => {
    d = new Deployment();
    // 150 KiB per file: a 48 kHz WAV (96 kB/s) hits it after ~1.5 s
    await d.up({ nodes: 1, fsizeKb: 150 });
    const call = await d.call("record");
    await new Promise((r) => setTimeout(r, 3000));
    const get = await fetch(`${d.url}${call.location}`, {
      headers: { authorization: `Bearer ${call.token}` },
    });
    expect(get.status).toBe(200);
    const body = (await get.json()) as { recordingError?: string; state: string };
    expect(body.recordingError).toMatch(/^disk_full: (EFBIG|ENOSPC|short write)/);
    expect(body.state).toBe("connected"); // the call goes on; only its recording stopped
    expect((await d.end(call)).status).toBe(200);
    const [node] = await d.registry.listNodes();
    await d.until(
      async () =>
        /rtcgw_recording_failures_total\{[^}]*reason="disk_full"[^}]*\} 1/.test(
          await (await fetch(`${node!.controlUrl}/metrics`)).text(),
        ),
      5_000,
      "the failure counted in the node's metrics",
    );
    const { readFileSync, statSync } = await import("node:fs");
    const wavPath = `${d.recordings}/${call.id}.wav`;
    const wav = readFileSync(wavPath);
    expect(wav.toString("ascii", 0, 4)).toBe("RIFF");
    expect(wav.readUInt32LE(40) + 44).toBe(statSync(wavPath).size); // claims exactly what is there
    expect(wav.length).toBeLessThanOrEqual(150 * 1024);
    expect(wav.readUInt32LE(40)).toBeGreaterThan(96_000); // > 1 s of audio kept
  });
});

describe("a node whose recordings disk is full", () => {
  it("says so in its registry record: the signaling sends it no session that records (others take them), still echoes, and /v1/health is degraded naming it", {
    timeout: 120_000,
  }, async () => {
    d = new Deployment();
    // the first node's every write past 0 KiB is refused (EFBIG, as a full disk's ENOSPC): it
    // starts (the start creates an empty file), and can open no recording
    await d.up({ nodes: 2, fsizeKb: [0, undefined] });
    const nodes = await d.registry.listNodes();
    // which record is the full one: its process is the first started
    await d.until(
      async () => (await d!.registry.listNodes()).some((n) => n.recordUnavailable === "disk-full"),
      10_000,
      "the full node's record to say it cannot record",
    );
    const full = (await d.registry.listNodes()).find((n) => n.recordUnavailable !== undefined)!;
    const ok = nodes.find((n) => n.id !== full.id)!;
    expect(ok.recordUnavailable).toBeUndefined();
    for (let i = 0; i < 6; i++) {
      const r = await d.offer("record");
      expect(r.status).toBe(201);
      expect(r.nodeId).toBe(ok.id);
    }
    // never tried: no record session was refused there (it was one refusal per offer that met it)
    const metrics = await (await fetch(`${full.controlUrl}/metrics`)).text();
    expect(metrics).not.toMatch(/rtcgw_offers_refused_total\{[^}]*reason="media-unavailable"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/rtcgw_recordings_unavailable\{[^}]*reason="disk-full"[^}]*\} 1/);
    // echo still goes to it (both empty: the pick is random, weighted by free slots)
    const echoed = new Set<string | undefined>();
    for (let i = 0; i < 12 && !echoed.has(full.id); i++) echoed.add((await d.offer("echo")).nodeId);
    expect(echoed.has(full.id)).toBe(true);
    const health = await fetch(`${d.url}/v1/health`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as { status: string; reason: string; nodes: { recording: number } };
    expect(body.status).toBe("degraded");
    expect(body.reason).toMatch(
      /1 of the 2 accepting media node\(s\) cannot record \(disk-full: its write probe was refused for want of room\)/,
    );
    expect(body.nodes.recording).toBe(1);
  });
});

describe.skipIf(!canMountTmpfs())("a node whose recordings disk has room, but less than its floor", () => {
  it("says disk-low in its registry record and its log (the free space, not the write probe): recordings go to the other node, /v1/health is degraded naming why", {
    timeout: 120_000,
  }, async () => {
    d = new Deployment();
    // a real 16 MiB file system on the first node's RECORDINGS_DIR: its 4 KiB write probe
    // succeeds, its statfs says 16 MiB free, below the default floor (DEFAULT_RECORDINGS_MIN_FREE_MB)
    await d.up({ nodes: 2, tmpfsKb: [16 * 1024, undefined] });
    await d.until(
      async () => (await d!.registry.listNodes()).some((n) => n.recordUnavailable === "disk-low"),
      10_000,
      "the small disk's node to say it cannot record",
    );
    const nodes = await d.registry.listNodes();
    const low = nodes.find((n) => n.recordUnavailable === "disk-low")!;
    const ok = nodes.find((n) => n.id !== low.id)!;
    expect(ok.recordUnavailable).toBeUndefined();
    expect(low.id).toContain(`-${d.nodes[0]!.child.pid}-`);
    // the node's line names the check that tripped, with the figures
    expect(d.nodes[0]!.out()).toMatch(
      new RegExp(
        `"check":"free-space".*this node cannot record: 1[56] MiB free on RECORDINGS_DIR's file system, below the floor of ${DEFAULT_RECORDINGS_MIN_FREE_MB} MiB \\(RTCGW_RECORDINGS_MIN_FREE_MB\\)`,
      ),
    );
    expect(d.nodes[1]!.out()).not.toMatch(/recordings_unavailable/);
    for (let i = 0; i < 4; i++) {
      const r = await d.offer("record");
      expect(r.status).toBe(201);
      expect(r.nodeId).toBe(ok.id);
    }
    const metrics = await (await fetch(`${low.controlUrl}/metrics`)).text();
    expect(metrics).toMatch(/rtcgw_recordings_unavailable\{[^}]*reason="disk-low"[^}]*\} 1/);
    const health = await fetch(`${d.url}/v1/health`);
    const body = (await health.json()) as { status: string; reason: string };
    expect(body.status).toBe("degraded");
    expect(body.reason).toMatch(
      /1 of the 2 accepting media node\(s\) cannot record \(disk-low: free space on its recordings disk is below its floor/,
    );
  });
});

describe("a node killed while writing a WAV", () => {
  it("the file is readable afterwards up to the last second written (its header is rewritten every second)", {
    timeout: 120_000,
  }, async () => {
    d = new Deployment();
    await d.up({ nodes: 1 });
    const call = await d.call("record");
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 3500));
    d.nodes[0]!.child.kill("SIGKILL");
    const talkedMs = Date.now() - t0;
    await d.nodes[0]!.exit;
    const { readFileSync } = await import("node:fs");
    const wav = readFileSync(`${d.recordings}/${call.id}.wav`);
    expect(wav.toString("ascii", 0, 4)).toBe("RIFF");
    expect(wav.toString("ascii", 8, 12)).toBe("WAVE");
    const claimed = wav.readUInt32LE(40);
    // never claims bytes that are not there, and is at most ~1.2 s short (the header is patched
    // every 1 s of audio; audio is written every 200 ms); the first ~0.1 s is the jitter depth
    expect(44 + claimed).toBeLessThanOrEqual(wav.length);
    expect(wav.readUInt32LE(4)).toBe(36 + claimed);
    const claimedMs = claimed / 96; // 48 kHz mono 16-bit
    expect(claimedMs).toBeGreaterThan(talkedMs - 1400);
    expect(claimedMs).toBeLessThanOrEqual(talkedMs);
  });
});
