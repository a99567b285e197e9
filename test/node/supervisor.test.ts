// The supervisor (`rtcgw node`, one worker process per core): workers register apart and drain
// together on SIGTERM; a worker that cannot start fails the start with a reason instead of
// restarting forever; a worker that crashes is restarted, and its registry entries are removed at
// once rather than left for their TTLs. Real processes, a real redis-server of this file's own.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createSocket } from "node:dgram";
import { createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { childPids } from "../../bench/load/proc.js";
import { signRequest } from "../../src/control/hmac.js";
import { END_FLUSH_MS } from "../../src/node/node.js";
import type { NodeRecord } from "../../src/registry/types.js";
import {
  connectEchoSession,
  NODE_SECRET,
  type NodeProcess,
  nodeProcessFixture,
  spawnNodeProcess,
} from "../support/node-process.js";
import { newSessionId, waitFor } from "./harness.js";

const fx = nodeProcessFixture();

/**
 * `rtcgw node` as a user runs it (bin/rtcgw.mjs, which registers tsx in-process: its workers get
 * the loader from the supervisor), 2 workers on any free ports (a port picked here could be
 * taken meanwhile)
 */
const startSupervisor = () =>
  spawnNodeProcess(
    ["node"],
    { RTCGW_REGISTRY: fx.redis.url, NODE_PORT: "0", RTCGW_WORKERS: "2", LOG_LEVEL: "info" },
    { capture: true, bin: true },
  );

/** started: every worker reported ready (a worker registers a moment before it reports) */
const supervisorStarted = (p: NodeProcess) =>
  waitFor(
    () => p.stdout().includes('"msg":"media node supervisor started"'),
    20_000,
    "the supervisor to start",
  );

/** the registry is this file's own: the nodes in it are the workers of the supervisor under test */
async function workersRegistered(count: number, what: string): Promise<NodeRecord[]> {
  let nodes: NodeRecord[] = [];
  await waitFor(
    async () => {
      nodes = await fx.registry.listNodes();
      return nodes.length === count;
    },
    20_000,
    what,
  );
  return nodes;
}

/** the JSON log lines of a process's stdout (its workers' too: they inherit it) */
function logLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** a port P with P + 1 free too (worker 0 listens on NODE_PORT, worker 1 on NODE_PORT + 1) */
async function freePortPair(): Promise<number> {
  for (;;) {
    const a = await holdPort();
    const p = (a.address() as { port: number }).port;
    const b = await new Promise<Server | undefined>((resolve) => {
      const srv = createServer();
      srv.once("error", () => resolve(undefined));
      srv.listen(p + 1, "127.0.0.1", () => resolve(srv));
    });
    a.close();
    if (b) {
      b.close();
      return p;
    }
  }
}

function holdPort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => resolve(srv));
  });
}

describe("the supervisor", () => {
  it("runs 2 workers, each its own control port and registry entry, and SIGTERM drains them all (exit 0)", {
    timeout: 40_000,
  }, async () => {
    const { child, exit, stdout } = startSupervisor();
    const nodes = await workersRegistered(2, "2 workers to register");
    expect(new Set(nodes.map((n) => n.id)).size).toBe(2);
    expect(new Set(nodes.map((n) => new URL(n.controlUrl).port)).size).toBe(2);
    const s = await connectEchoSession(nodes[1]!);

    // a request signed for worker 0 is answered by worker 0 only: replayed to worker 1 (its
    // own nonce cache has never seen it) it is refused, as is a fresh one signed for worker 0
    const [w0, w1] = nodes as [NodeRecord, NodeRecord];
    const signed = signRequest(NODE_SECRET, w0.id, "GET", "/internal/health");
    const get = async (n: NodeRecord, headers: Record<string, string>) => {
      const res = await fetch(`${n.controlUrl}/internal/health`, { headers });
      return { status: res.status, json: (await res.json()) as { reason?: string } };
    };
    expect((await get(w0, signed)).status).toBe(200);
    const replayed = await get(w1, signed);
    expect(replayed.status).toBe(401);
    expect(replayed.json.reason).toBe("request signed for another node");
    expect((await get(w1, signRequest(NODE_SECRET, w0.id, "GET", "/internal/health"))).status).toBe(401);
    expect((await get(w1, signRequest(NODE_SECRET, w1.id, "GET", "/internal/health"))).status).toBe(200);

    const t0 = Date.now();
    child.kill("SIGTERM");
    await s.client.until(() => s.client.state !== "connected", 8000, "the session to be closed by the drain");
    expect(await exit).toBe(0);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(await fx.registry.listNodes()).toEqual([]);
    await s.client.close();

    // each worker's lifecycle lines name its node id (and the supervisor's its worker index)
    const lines = logLines(stdout());
    const ready = lines.filter((l) => l.msg === "media worker ready");
    expect(ready.map((l) => l.nodeId).sort(), stdout()).toEqual(nodes.map((n) => n.id).sort());
    expect(ready.map((l) => l.worker).sort()).toEqual([0, 1]);
    for (const n of nodes) {
      const worker = ready.find((l) => l.nodeId === n.id)!.worker;
      expect(
        lines.find((l) => l.msg === "draining before exit" && l.nodeId === n.id),
        `draining of ${n.id}\n${stdout()}`,
      ).toMatchObject({ worker });
    }
    // a worker's last line ("exiting") may be lost at its exit (exitAfterLogs does not wait for a
    // write in flight: sonic-boom's flush calls back at once with minLength 0): those that came
    // name their node
    const exiting = lines.filter((l) => l.msg === "exiting");
    for (const l of exiting)
      expect(
        nodes.map((n) => n.id),
        stdout(),
      ).toContain(l.nodeId);
  });

  it("a worker that cannot bind NODE_PORT + 1 fails the start: exit 2 naming NODE_PORT, no worker left registered", {
    timeout: 40_000,
  }, async () => {
    const taken = await holdPort();
    const port = (taken.address() as { port: number }).port;
    try {
      const t0 = Date.now();
      // worker 0 listens on NODE_PORT, worker 1 on NODE_PORT + 1: the port held here
      const { exit, stderr } = spawnNodeProcess(
        ["node"],
        { RTCGW_REGISTRY: fx.redis.url, NODE_PORT: String(port - 1), RTCGW_WORKERS: "2" },
        { capture: true, bin: true },
      );
      expect(await exit).toBe(2);
      expect(Date.now() - t0).toBeLessThan(15_000); // no restart loop
      // (if another process took port - 1 meanwhile, worker 0 is the one named: the same error)
      expect(stderr()).toMatch(/NODE_PORT: port \d+ .*is already in use; set NODE_PORT to a free port/);
      expect(stderr()).not.toMatch(/restarting/);
      expect(await fx.registry.listNodes()).toEqual([]);
    } finally {
      taken.close();
    }
  });

  it("a worker whose MEDIA_UDP_PORT + 1 is taken fails the start: exit 2 naming MEDIA_UDP_PORT (it used to abort at its first offer, again and again)", {
    timeout: 40_000,
  }, async () => {
    const taken = createSocket("udp4");
    await new Promise<void>((r) => taken.bind(0, "127.0.0.1", () => r()));
    const port = taken.address().port;
    try {
      const { exit, stderr } = spawnNodeProcess(
        ["node"],
        {
          RTCGW_REGISTRY: fx.redis.url,
          NODE_PORT: "0",
          MEDIA_BIND_ADDRESS: "127.0.0.1",
          MEDIA_UDP_PORT: String(port - 1),
          RTCGW_WORKERS: "2",
        },
        { capture: true, bin: true },
      );
      expect(await exit).toBe(2);
      expect(stderr()).toMatch(
        /MEDIA_UDP_PORT: UDP port \d+ on 127\.0\.0\.1 is already in use; set MEDIA_UDP_PORT to a free port/,
      );
      expect(stderr()).not.toMatch(/restarting|terminate called/);
      expect(await fx.registry.listNodes()).toEqual([]);
    } finally {
      taken.close();
    }
  });

  it("restarts a worker that crashes, and removes its node and sessions from the registry at once", {
    timeout: 40_000,
  }, async () => {
    const supervisor = startSupervisor();
    const { child, exit, stdout } = supervisor;
    await supervisorStarted(supervisor);
    const nodes = await workersRegistered(2, "2 workers to register");
    const [victim, survivor] = nodes as [NodeRecord, NodeRecord];
    // a session the signaling recorded on the victim
    const sessionId = newSessionId();
    await fx.registry.createSession({
      id: sessionId,
      nodeId: victim.id,
      kind: "session",
      profile: "echo",
      tokenHash: createHash("sha256").update("secret").digest("hex"),
      state: "connected",
      etag: "e1",
      ttlMs: 60_000,
    });
    // node ids carry their process id: node-<host>-<pid>-<random>
    const pid = childPids(child.pid!).find((p) => victim.id.includes(`-${p}-`));
    expect(pid).toBeDefined();
    const killedAt = Date.now();
    process.kill(pid!, "SIGKILL");

    // gone long before the node's 15 s TTL and the session's 60 s
    await waitFor(
      async () =>
        (await fx.registry.getNode(victim.id)) === undefined &&
        (await fx.registry.getSession(sessionId)) === undefined,
      5_000,
      "the crashed worker's node and session to leave the registry",
    );
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    expect(await fx.registry.getNode(survivor.id)).toBeDefined();
    // the crash and its deregistration name the same node and worker: an operator matches them
    await waitFor(
      () => stdout().includes("deregistered a worker that died"),
      5_000,
      "the deregistration's log line",
    );
    const lines = logLines(stdout());
    const worker = lines.find((l) => l.msg === "media worker ready" && l.nodeId === victim.id)?.worker;
    expect(worker, stdout()).toEqual(expect.any(Number));
    expect(
      lines.find((l) => l.msg === "media worker exited; restarting it"),
      stdout(),
    ).toMatchObject({
      nodeId: victim.id,
      worker,
      pid,
      signal: "SIGKILL",
    });
    expect(
      lines.find((l) => l.msg === "deregistered a worker that died (its node record and sessions)"),
    ).toMatchObject({ nodeId: victim.id, worker, sessions: 1 });

    // the restarted worker registers under a new id
    const after = await workersRegistered(2, "the restarted worker to register");
    expect(after.map((n) => n.id)).toContain(survivor.id);
    expect(after.map((n) => n.id)).not.toContain(victim.id);

    child.kill("SIGTERM");
    expect(await exit).toBe(0);
    expect(await fx.registry.listNodes()).toEqual([]);
  });
  it("RTCGW_METRICS_PORT: one /metrics for every worker, each under its node label, promtool-clean; a restart is counted and the new worker's figures replace the dead one's", {
    timeout: 60_000,
  }, async () => {
    const supervisor = spawnNodeProcess(
      ["node"],
      {
        RTCGW_REGISTRY: fx.redis.url,
        NODE_PORT: "0",
        RTCGW_WORKERS: "2",
        RTCGW_METRICS_PORT: "0",
        LOG_LEVEL: "info",
      },
      { capture: true, bin: true },
    );
    const { child, exit, stdout } = supervisor;
    await supervisorStarted(supervisor);
    const url = logLines(stdout()).find((l) => l.msg === "node metrics served")?.metricsUrl as string;
    expect(url, stdout()).toMatch(/^http:\/\/.+:\d+\/metrics$/);
    const nodes = await workersRegistered(2, "2 workers to register");
    const scrape = async () => {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      return res.text();
    };
    const nodesIn = (text: string) =>
      new Set([...text.matchAll(/^rtcgw_sessions\{[^}]*node="([^"]+)"/gm)].map((m) => m[1]));
    const text = await scrape();
    expect(nodesIn(text)).toEqual(new Set(nodes.map((n) => n.id)));
    expect(text).toMatch(/^rtcgw_supervisor_workers\{state="ready"\} 2$/m);
    // each worker's start time is its own (prom-client's cluster merge would have dropped it)
    expect(text.match(/^rtcgw_process_start_time_seconds\{/gm)).toHaveLength(2);
    const lint = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(`${lint.stdout}${lint.stderr}`.trim()).toBe("");
    expect(lint.status).toBe(0);

    const [victim, survivor] = nodes as [NodeRecord, NodeRecord];
    const pid = childPids(child.pid!).find((p) => victim.id.includes(`-${p}-`));
    process.kill(pid!, "SIGKILL");
    let after: NodeRecord[] = [];
    await waitFor(
      async () => {
        after = await fx.registry.listNodes();
        return after.length === 2 && !after.some((n) => n.id === victim.id);
      },
      20_000,
      "the restarted worker to register",
    );
    const reborn = after.find((n) => n.id !== survivor.id)!;
    const worker = logLines(stdout()).find(
      (l) => l.msg === "media worker ready" && l.nodeId === victim.id,
    )?.worker;
    let text2 = "";
    await waitFor(
      async () => {
        text2 = await scrape();
        return nodesIn(text2).has(reborn.id);
      },
      10_000,
      "the restarted worker's figures in the supervisor's /metrics",
    );
    expect(nodesIn(text2)).toEqual(new Set([survivor.id, reborn.id]));
    expect(text2).toMatch(
      new RegExp(`^rtcgw_supervisor_worker_restarts_total\\{worker="${worker}"\\} 1$`, "m"),
    );

    child.kill("SIGTERM");
    expect(await exit).toBe(0);
  });

  it("a taken RTCGW_METRICS_PORT fails the start: exit 2 naming it, no worker registered", {
    timeout: 40_000,
  }, async () => {
    const taken = await holdPort();
    const port = (taken.address() as { port: number }).port;
    try {
      const { exit, stderr } = spawnNodeProcess(
        ["node"],
        {
          RTCGW_REGISTRY: fx.redis.url,
          NODE_PORT: "0",
          RTCGW_WORKERS: "2",
          RTCGW_METRICS_PORT: String(port),
          NODE_BIND_ADDRESS: "127.0.0.1",
        },
        { capture: true, bin: true },
      );
      expect(await exit).toBe(2);
      expect(stderr()).toMatch(
        new RegExp(
          `RTCGW_METRICS_PORT: port ${port} is already in use; set RTCGW_METRICS_PORT to a free port`,
        ),
      );
      expect(await fx.registry.listNodes()).toEqual([]);
    } finally {
      taken.close();
    }
  });

  it("kill -9 of the supervisor: its workers exit within 3 s (their calls closed, deregistered), and a restart on the same ports starts", {
    timeout: 60_000,
  }, async () => {
    const base = await freePortPair();
    const env = {
      RTCGW_REGISTRY: fx.redis.url,
      NODE_PORT: String(base),
      MEDIA_UDP_PORT: "0",
      RTCGW_WORKERS: "2",
      LOG_LEVEL: "info",
    };
    const first = spawnNodeProcess(["node"], env, { capture: true, bin: true });
    await supervisorStarted(first);
    const nodes = await workersRegistered(2, "2 workers to register");
    const workers = childPids(first.child.pid!);
    expect(workers).toHaveLength(2);
    const call = await connectEchoSession(nodes[0]!);
    try {
      const killedAt = Date.now();
      first.child.kill("SIGKILL"); // no signal reaches the workers: only their IPC channel closes
      await waitFor(
        () => workers.every((pid) => !alive(pid)),
        3_000,
        "the workers to exit with their supervisor",
      );
      expect(Date.now() - killedAt).toBeLessThan(3_000);
      // they drained: the live call was closed by the node, the registry holds no node of theirs
      await call.client.until(() => call.client.state !== "connected", 3_000, "the call to be closed");
      expect(await fx.registry.listNodes()).toEqual([]);
      // the ports are free again: a restart starts (it exited 2, "port in use", with orphans left)
      const second = spawnNodeProcess(["node"], env, { capture: true, bin: true });
      await supervisorStarted(second);
      await workersRegistered(2, "the restarted supervisor's workers to register");
      second.child.kill("SIGTERM");
      expect(await second.exit).toBe(0);
    } finally {
      for (const pid of workers) if (alive(pid)) process.kill(pid, "SIGKILL");
      await call.client.close();
    }
  });

  it("SIGTERM with a frozen (SIGSTOP) worker: the other drains, the frozen one is killed at the drain deadline and deregistered, the supervisor exits", {
    timeout: 40_000,
  }, async () => {
    const p = spawnNodeProcess(
      ["node"],
      {
        RTCGW_REGISTRY: fx.redis.url,
        NODE_PORT: "0",
        RTCGW_WORKERS: "2",
        RTCGW_DRAIN_TIMEOUT: "2",
        LOG_LEVEL: "info",
      },
      { capture: true, bin: true },
    );
    const { child, exit, stdout } = p;
    await supervisorStarted(p);
    const nodes = await workersRegistered(2, "2 workers to register");
    const workers = childPids(child.pid!);
    expect(workers).toHaveLength(2);
    // node ids carry their process id: node-<host>-<pid>-<random>
    const frozen = nodes.find((n) => workers.some((pid) => n.id.includes(`-${pid}-`)))!;
    const frozenPid = workers.find((pid) => frozen.id.includes(`-${pid}-`))!;
    const other = nodes.find((n) => n.id !== frozen.id)!;
    const s = await connectEchoSession(other);
    try {
      process.kill(frozenPid, "SIGSTOP");
      const t0 = Date.now();
      child.kill("SIGTERM");
      // the live worker drains as usual; the frozen one never can: it is killed once the drain
      // deadline (2 s), the wait for the registry to take its calls' ends (END_FLUSH_MS) and a
      // grace for the teardown have passed, not waited for forever
      await s.client.until(
        () => s.client.state !== "connected",
        8000,
        "the session to be closed by the drain",
      );
      const code = await Promise.race([
        exit,
        new Promise((r) => setTimeout(() => r("still running"), 25_000)),
      ]);
      const tookMs = Date.now() - t0;
      expect(code, stdout()).toBe(1); // not every worker drained
      expect(tookMs).toBeLessThan(2_000 + END_FLUSH_MS + 5_000 + 2_000);
      expect(alive(frozenPid)).toBe(false);
      expect(stdout()).toContain("did not stop by the drain deadline");
      // neither worker left in the registry (the killed one removed by the supervisor)
      expect(await fx.registry.listNodes()).toEqual([]);
    } finally {
      for (const pid of workers) if (alive(pid)) process.kill(pid, "SIGKILL");
      if (child.exitCode === null) child.kill("SIGKILL");
      await s.client.close();
    }
  });
});
