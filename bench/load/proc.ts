// Per-process figures from Linux /proc, for the benches that measure other processes.
import { readFileSync } from "node:fs";

/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in these ticks per second */
const CLK_TCK = 100;

/** utime + stime of a process so far, ms; 0 once it is gone */
export function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** the pids of a process's children (e.g. the supervisor's workers); [] once it is gone */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * How often a process's main thread went to sleep and was woken (its voluntary context
 * switches: each is the event loop blocking in epoll_wait, then a packet, a socket or a timer
 * waking it). A wake-up is a fixed cost on this project's VM (~80–120 µs, src/node/process/ticker.ts),
 * so the count says what a profile cannot: how much of a session's CPU is waking, not working.
 */
export function wakeups(pid: number): number {
  try {
    const m = /voluntary_ctxt_switches:\s+(\d+)/.exec(
      readFileSync(`/proc/${pid}/task/${pid}/status`, "utf8"),
    );
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
