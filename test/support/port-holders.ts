// Who holds a port, from the kernel's own tables: the sockets bound to a local port (any address,
// TCP and UDP, IPv4 and IPv6: /proc/net/{tcp,tcp6,udp,udp6}) and the processes whose file
// descriptors they are (/proc/PID/fd → socket:[inode]).
//
// Why a test needs this: coturn binds its listeners with SO_REUSEPORT, so a second coturn (same
// user) started on a port another one already holds does not fail — both run, the kernel spreads
// the clients between them, and the readiness probe is answered by whichever it picks. And when
// the port is held by a socket without SO_REUSEPORT, coturn does not exit either: it logs
// "Cannot bind … Address already in use" and retries forever, while the other holder may answer
// the probe. Only the socket table says whose port it is.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

export interface PortSocket {
  proto: "tcp" | "tcp6" | "udp" | "udp6";
  /** local address:port as the kernel lists it (hex address) */
  local: string;
  /** TCP state, hex (0A = LISTEN); UDP: 07 unconnected, 01 connected */
  state: string;
  inode: number;
}

const PROTOS = ["tcp", "tcp6", "udp", "udp6"] as const;

/** every socket whose local port is `port` (TIME_WAIT and other orphans have inode 0: left out) */
export function socketsOn(port: number): PortSocket[] {
  const out: PortSocket[] = [];
  for (const proto of PROTOS) {
    let text = "";
    try {
      text = readFileSync(`/proc/net/${proto}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const local = f[1]!;
      if (Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16) !== port) continue;
      const inode = Number(f[9]);
      if (inode === 0) continue;
      out.push({ proto, local, state: f[3]!, inode });
    }
  }
  return out;
}

/** the socket inodes of a process and of all its descendants */
export function socketInodesOf(pid: number): Set<number> {
  const pids = [pid, ...descendantsOf(pid)];
  const inodes = new Set<number>();
  for (const p of pids) for (const i of fdSockets(p)) inodes.add(i);
  return inodes;
}

function fdSockets(pid: number): number[] {
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.push(Number(m[1]));
    } catch {}
  }
  return out;
}

function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      // comm may hold spaces and parentheses: the ppid is the second field after the last ")"
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {}
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0)
    for (const c of children.get(todo.pop()!) ?? []) {
      out.push(c);
      todo.push(c);
    }
  return out;
}

/** the processes (pid and command line) holding these socket inodes, as far as /proc lets us see */
export function holdersOf(inodes: Iterable<number>): string[] {
  const want = new Set(inodes);
  const found = new Map<number, string>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const mine = fdSockets(Number(e)).filter((i) => want.has(i));
    if (mine.length === 0) continue;
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0").join(" ").trim().slice(0, 200);
    } catch {}
    for (const i of mine) found.set(i, `pid ${e} (${cmd})`);
  }
  return [...want].map((i) => found.get(i) ?? `socket inode ${i} (a process this user cannot see)`);
}

export interface PortCheck {
  /** the server holds the port: a TCP listener, and a UDP socket where `udp` is asked for */
  held: boolean;
  /** other processes' sockets bound to the port (TCP listeners, UDP sockets), with who holds them */
  strangers: string[];
  /** every socket on the port that is not the server's, connections too (for a failure message:
   *  an outgoing connection's local port keeps a listener off it as well) */
  others: string[];
}

/** does the process `pid` (or a descendant) hold `port` (TCP listening, and UDP when `udp`), alone?
 *  (Connections on the port are not the server's rivals: those it accepted have the port as their
 *  local one, and one still in its accept queue is in no process's descriptors yet.) */
export function checkPortHeld(port: number, pid: number, o: { udp: boolean }): PortCheck {
  const sockets = socketsOn(port);
  const own = socketInodesOf(pid);
  const mine = sockets.filter((s) => own.has(s.inode));
  const others = sockets.filter((s) => !own.has(s.inode));
  const binds = (s: PortSocket) => s.proto.startsWith("udp") || s.state === "0A";
  const held =
    mine.some((s) => s.proto.startsWith("tcp") && s.state === "0A") &&
    (!o.udp || mine.some((s) => s.proto.startsWith("udp")));
  const who = others.length > 0 ? holdersOf(others.map((s) => s.inode)) : [];
  const described = others.map((s, i) => `${s.proto} ${s.local} state ${s.state}: ${who[i]}`);
  return {
    held,
    strangers: described.filter((_, i) => binds(others[i]!)),
    others: described,
  };
}
