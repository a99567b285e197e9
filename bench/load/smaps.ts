// Where a process's resident memory lives, from /proc/<pid>/smaps: glibc's main arena (the brk
// [heap]), glibc's per-thread arenas, other anonymous mappings (V8's heap and code, WASM memories,
// mmapped malloc chunks, thread stacks) and file mappings (the node binary, shared libraries).
//
// A glibc thread arena is a heap of HEAP_MAX_SIZE (64 MiB on 64-bit) reserved aligned to its size
// and committed from its start: a read-write anonymous mapping at a 64 MiB-aligned address
// followed, up to the next 64 MiB boundary, by the reserved rest (`---p`). That shape is how
// arenas are told from V8's reservations here — a heuristic, good enough to say which one grew.
import { readFileSync } from "node:fs";

export interface SmapsBreakdown {
  /** glibc's main arena: the brk heap ("[heap]") */
  brkHeap: number;
  /** glibc's thread arenas (libdatachannel's, usrsctp's, libuv's threads malloc in these) */
  threadArenas: number;
  /** how many thread arenas exist */
  arenaCount: number;
  /** other anonymous memory: V8 heap and code, WASM memories, mmapped large chunks, stacks */
  otherAnon: number;
  /** file-backed: the node binary, shared libraries */
  file: number;
}

interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
  name: string;
  rss: number;
}

const ARENA = 64n << 20n;

export function smaps(pid: number): SmapsBreakdown {
  const maps: Mapping[] = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      maps.push({
        start: BigInt(`0x${head[1]}`),
        end: BigInt(`0x${head[2]}`),
        perms: head[3]!,
        name: head[4]!,
        rss: 0,
      });
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && maps.length) maps.at(-1)!.rss = Number(rss[1]) * 1024;
  }
  const out: SmapsBreakdown = { brkHeap: 0, threadArenas: 0, arenaCount: 0, otherAnon: 0, file: 0 };
  for (let i = 0; i < maps.length; i++) {
    const m = maps[i]!;
    if (m.name === "[heap]") out.brkHeap += m.rss;
    else if (m.name.startsWith("/")) out.file += m.rss;
    else if (m.name === "") {
      const rest = maps[i + 1];
      const isArena =
        m.perms.startsWith("rw") &&
        m.start % ARENA === 0n &&
        (m.end - m.start === ARENA ||
          (rest !== undefined &&
            rest.perms === "---p" &&
            rest.name === "" &&
            rest.start === m.end &&
            rest.end === m.start + ARENA));
      if (isArena) {
        out.threadArenas += m.rss;
        out.arenaCount++;
      } else out.otherAnon += m.rss;
    } else out.otherAnon += m.rss; // [stack], [anon:…], [vvar]…
  }
  return out;
}
