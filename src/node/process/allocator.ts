// The C allocator a media worker runs on. With glibc's malloc, a node that has been busy keeps
// the memory of its busiest moment: the native side of each session (libdatachannel's peer,
// SRTP, SCTP, its threads' buffers) is freed when the session ends, but glibc returns freed pages
// only from the very top of its heaps, so after a peak of a few hundred sessions the node stayed
// 60–100 MB above its baseline with nothing in use (`npm run bench:churn -- --malloc-trim`:
// malloc_trim(0) gives all of it back). MALLOC_ARENA_MAX=2 and lower trim/mmap thresholds did not
// change that (measured, docs/benchmarks.md "Churn and soak"); jemalloc, which returns unused
// pages after a few seconds, did. So the supervisor starts its workers with jemalloc preloaded
// when the machine has it (Debian/Ubuntu: the libjemalloc2 package), and logs which it chose.
// `RTCGW_MALLOC=glibc` keeps glibc's malloc.
//
// The allocator is chosen when a process starts (LD_PRELOAD is read by the dynamic loader), so
// this applies to processes the supervisor forks; a single process (`RTCGW_WORKERS=1`, `rtcgw
// dev`) runs on whatever its own start gave it — set LD_PRELOAD in its environment for jemalloc.
import { existsSync } from "node:fs";

/** where distributions put jemalloc's shared library (multiarch Debian paths, then RPM ones) */
export const JEMALLOC_PATHS = [
  "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
  "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2",
  "/usr/lib64/libjemalloc.so.2",
  "/usr/lib/libjemalloc.so.2",
];

export type MallocChoice = "jemalloc" | "glibc";

export interface WorkerAllocator {
  /** what the worker runs on */
  allocator: "jemalloc" | "glibc";
  /** why, for the start's log line */
  reason: string;
  /** environment entries to add to the worker's environment */
  env: Record<string, string>;
}

/**
 * The allocator for a worker about to be forked: jemalloc preloaded unless `choice` is "glibc",
 * the library is not installed, or the environment already preloads one (kept as it is).
 */
export function workerAllocator(
  choice: MallocChoice,
  env: NodeJS.ProcessEnv,
  exists: (path: string) => boolean = existsSync,
): WorkerAllocator {
  const preload = env.LD_PRELOAD ?? "";
  if (/jemalloc/.test(preload)) return { allocator: "jemalloc", reason: "LD_PRELOAD names it", env: {} };
  if (choice === "glibc") return { allocator: "glibc", reason: "RTCGW_MALLOC=glibc", env: {} };
  const lib = JEMALLOC_PATHS.find((p) => exists(p));
  if (!lib) return { allocator: "glibc", reason: "libjemalloc.so.2 is not installed", env: {} };
  return {
    allocator: "jemalloc",
    reason: lib,
    env: { LD_PRELOAD: preload ? `${lib} ${preload}` : lib },
  };
}
