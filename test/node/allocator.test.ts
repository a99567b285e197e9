// The workers `rtcgw node` forks run on jemalloc (a busy node's freed native memory goes back to
// the system; glibc's malloc kept the peak, see src/node/process/allocator.ts), unless
// RTCGW_MALLOC=glibc. Real supervisors, real workers: which allocator a worker runs on is read
// from its own /proc/<pid>/maps. CI installs libjemalloc2 (scripts/install-system-deps.sh).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { childPids } from "../../bench/load/proc.js";
import { JEMALLOC_PATHS, workerAllocator } from "../../src/node/process/allocator.js";
import { nodeProcessFixture, spawnNodeProcess } from "../support/node-process.js";
import { waitFor } from "./harness.js";

const fx = nodeProcessFixture();

const mapsJemalloc = (pid: number) => readFileSync(`/proc/${pid}/maps`, "utf8").includes("libjemalloc");

/** `rtcgw node` with 2 workers; resolves with the workers' pids once both registered */
async function workersOf(env: Record<string, string>) {
  const p = spawnNodeProcess(
    ["node"],
    { RTCGW_REGISTRY: fx.redis.url, NODE_PORT: "0", RTCGW_WORKERS: "2", LOG_LEVEL: "info", ...env },
    { capture: true, bin: true },
  );
  await waitFor(async () => (await fx.registry.listNodes()).length === 2, 20_000, "2 workers to register");
  const pids = childPids(p.child.pid!).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("worker");
    } catch {
      return false;
    }
  });
  return { p, pids };
}

async function stop(p: ReturnType<typeof spawnNodeProcess>) {
  p.child.kill("SIGTERM");
  expect(await p.exit).toBe(0);
  await waitFor(async () => (await fx.registry.listNodes()).length === 0, 10_000, "workers deregistered");
}

describe("the workers' allocator", () => {
  it("is jemalloc by default: each forked worker has it mapped, the supervisor says so", {
    timeout: 40_000,
  }, async () => {
    const { p, pids } = await workersOf({});
    expect(pids.length).toBe(2);
    for (const pid of pids) expect(mapsJemalloc(pid), `worker ${pid} runs on jemalloc`).toBe(true);
    // the supervisor itself is left as it started (its allocator was fixed before it ran)
    expect(mapsJemalloc(p.child.pid!)).toBe(false);
    expect(p.stdout()).toMatch(/"allocator":"jemalloc".*"msg":"media workers' allocator"/);
    await stop(p);
  });

  it("is glibc's malloc with RTCGW_MALLOC=glibc", { timeout: 40_000 }, async () => {
    const { p, pids } = await workersOf({ RTCGW_MALLOC: "glibc" });
    expect(pids.length).toBe(2);
    for (const pid of pids) expect(mapsJemalloc(pid), `worker ${pid} runs on glibc`).toBe(false);
    expect(p.stdout()).toMatch(/"allocator":"glibc","why":"RTCGW_MALLOC=glibc"/);
    await stop(p);
  });
});

describe("workerAllocator()", () => {
  const none = () => false;
  const all = () => true;
  it("preloads the first library found, before what LD_PRELOAD already holds", () => {
    expect(workerAllocator("jemalloc", {}, all).env).toEqual({ LD_PRELOAD: JEMALLOC_PATHS[0] });
    expect(workerAllocator("jemalloc", { LD_PRELOAD: "/x/libfoo.so" }, all).env).toEqual({
      LD_PRELOAD: `${JEMALLOC_PATHS[0]} /x/libfoo.so`,
    });
  });
  it("leaves the environment alone without the library, with RTCGW_MALLOC=glibc, or when a jemalloc is preloaded already", () => {
    expect(workerAllocator("jemalloc", {}, none)).toEqual({
      allocator: "glibc",
      reason: "libjemalloc.so.2 is not installed",
      env: {},
    });
    expect(workerAllocator("glibc", {}, all).env).toEqual({});
    expect(workerAllocator("jemalloc", { LD_PRELOAD: "/opt/libjemalloc.so" }, all)).toEqual({
      allocator: "jemalloc",
      reason: "LD_PRELOAD names it",
      env: {},
    });
  });
});
