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
