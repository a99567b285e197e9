// A real TURN server for tests: Debian's coturn (`turnserver`), started on a free loopback port
// with the TURN REST API's shared secret (use-auth-secret + static-auth-secret, what signaling's
// RTCGW_TURN_SECRET mints credentials for), stopped by its PID, always killed when the test
// process exits. Its verbose log is kept so a test can read what coturn decided.
//
// Options for clients whose network blocks UDP: `noUdp` stops coturn's UDP client listeners (the
// relay towards the media node stays UDP), so the only way to the TURN server is TCP or TLS; `tls`
// starts a TLS listener on a second free port with a certificate/key the test made.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkPortHeld } from "./port-holders.js";
import { freePort } from "./redis-server.js";

export interface Coturn {
  readonly port: number;
  /** TURN over UDP on the IPv4 loopback */
  readonly url: string;
  /** TURN over UDP on the IPv6 loopback (its relayed addresses are still IPv4: RFC 6156's default) */
  readonly url6: string;
  /** TURN over TCP on the IPv4 loopback (same port as UDP) */
  readonly tcpUrl: string;
  /** TURN over TLS on the IPv4 loopback, when started with `tls` */
  readonly tlsUrl?: string;
  readonly pid: number;
  /** everything coturn logged so far */
  log(): string;
  stop(): Promise<void>;
}

const BINARY = process.env.TURNSERVER_BIN ?? "turnserver";
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

export interface CoturnOptions {
  realm?: string;
  /** no UDP client listener: clients reach coturn over TCP/TLS only */
  noUdp?: boolean;
  /** a TLS listener with this PEM certificate and key */
  tls?: { certFile: string; keyFile: string };
}

export async function startCoturn(secret: string, options: CoturnOptions = {}): Promise<Coturn> {
  // a port found free can be taken before coturn binds it (by another test file's coturn, say):
  // startOn finds that out from the socket table and fails saying so; then another port
  const errors: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOn(await freeTcpUdpPort(), options.tls ? await freePort() : 0, secret, options);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  throw new Error(`turnserver did not start, 3 tries:\n${errors.join("\n")}`);
}

async function startOn(
  port: number,
  tlsPort: number,
  secret: string,
  options: CoturnOptions,
): Promise<Coturn> {
  const realm = options.realm ?? "rtcgw.test";
  const work = mkdtempSync(join(tmpdir(), "rtcgw-coturn-"));
  // biome-ignore format: flag/value pairs read best side by side
  const args = [
    "-n",                                   // no config file: everything is on this line
    "--listening-ip", "127.0.0.1", "--listening-ip", "::1", "--listening-port", String(port),
    "--relay-ip", "127.0.0.1",              // relayed addresses on the IPv4 loopback, for both
    "--use-auth-secret", "--static-auth-secret", secret, "--realm", realm,
    // coturn refuses to relay to loopback peers by default (a guard against reaching the TURN
    // host's own services); the media node here is on 127.0.0.1, so the test must allow it. In a
    // deployment the node's address is a real one and this flag stays off. (Checked: without it
    // test/e2e/turn.test.ts's relayed client never connects.)
    "--allow-loopback-peers",
    ...(options.tls
      ? ["--tls-listening-port", String(tlsPort), "--cert", options.tls.certFile, "--pkey", options.tls.keyFile]
      : ["--no-tls"]),                      // no certificate: TURN over UDP and TCP only
    "--no-dtls",                            // DTLS to the TURN server: no browser uses it
    ...(options.noUdp ? ["--no-udp"] : []),
    "--no-cli",                             // no telnet CLI port (5766) to collide with other tests
    // two listening addresses turn RFC 5780 on, and with it a second listener on port + 1 that
    // nobody checked was free (nor uses here): off, coturn binds the ports chosen for it and no other
    "--no-rfc5780",
    "--pidfile", join(work, "turnserver.pid"),
    "--userdb", join(work, "turndb"),       // not /var/lib/turn: nothing shared between runs
    "--log-file", "stdout", "--simple-log", "--verbose",
  ];
  const proc = spawn(BINARY, args, { stdio: ["ignore", "pipe", "pipe"] });
  live.add(proc);
  let out = "";
  const take = (d: Buffer) => {
    out = (out + d.toString()).slice(-400_000);
  };
  proc.stdout!.on("data", take);
  proc.stderr!.on("data", take);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    proc.once("exit", () => {
      exited = true;
      live.delete(proc);
      resolve();
    });
  });
  proc.once("error", (e) => {
    exited = true;
    out += `\n${e.message}`;
  });
  const stop = async () => {
    if (!exited) {
      const kill = setTimeout(() => proc.kill("SIGKILL"), 3000);
      proc.kill("SIGTERM");
      await exit;
      clearTimeout(kill);
    }
    rmSync(work, { recursive: true, force: true });
  };
  const until = Date.now() + 10_000;
  // coturn binds its listeners with SO_REUSEPORT: on a port another coturn holds it starts as if
  // the port were its own, and the probes below may be answered by the other one. So the port
  // must be coturn's, and coturn's alone (port-holders.ts), as well as answering.
  const why = (): string | undefined => {
    for (const [p, udp] of [[port, !options.noUdp], ...(tlsPort ? [[tlsPort, false]] : [])] as [
      number,
      boolean,
    ][]) {
      const c = checkPortHeld(p, proc.pid!, { udp });
      if (c.strangers.length > 0)
        return `port ${p} is not turnserver's alone (pid ${proc.pid}): also held by ${c.strangers.join("; ")}`;
      if (!c.held)
        return `turnserver (pid ${proc.pid}) does not hold port ${p}${udp ? " (TCP and UDP)" : ""} yet${c.others.length ? `; on it: ${c.others.join("; ")}` : ""}`;
    }
    return undefined;
  };
  // coturn listens on TCP and UDP on the same port, from separate listener threads: the TCP
  // listener answering does not mean the UDP one is up (a CI run once saw Chromium gather no relay
  // candidate at all), so over UDP a STUN Binding request must be answered too
  for (;;) {
    const reason = exited ? "turnserver exited" : why();
    const strangers = reason?.includes("not turnserver's alone");
    if (
      !reason &&
      (await tcpOpen(port)) &&
      (!tlsPort || (await tcpOpen(tlsPort))) &&
      (options.noUdp || (await stunAnswers(port)))
    )
      break;
    if (exited || strangers || Date.now() > until) {
      await stop();
      const bindErrors = [...new Set(out.match(/^.*Cannot bind.*$/gm) ?? [])].join("\n");
      throw new Error(
        `turnserver did not start on 127.0.0.1:${port}${tlsPort ? ` (TLS ${tlsPort})` : ""}: ${reason ?? "its listeners did not answer within 10 s"}${bindErrors ? `\n${bindErrors}` : ""}\n--- its log\n${out.slice(-2000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: `turn:127.0.0.1:${port}?transport=udp`,
    url6: `turn:[::1]:${port}?transport=udp`,
    tcpUrl: `turn:127.0.0.1:${port}?transport=tcp`,
    ...(options.tls ? { tlsUrl: `turns:127.0.0.1:${tlsPort}?transport=tcp` } : {}),
    pid: proc.pid!,
    log: () => out,
    stop,
  };
}

/** a port free for both TCP and UDP on 127.0.0.1 (the kernel's TCP pick can be a busy UDP port) */
async function freeTcpUdpPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const udpFree = await new Promise<boolean>((resolve) => {
      const s = createSocket("udp4");
      s.once("error", () => {
        s.close();
        resolve(false);
      });
      s.bind(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

/** does a STUN Binding request (RFC 5389) to 127.0.0.1:port over UDP get an answer within 200 ms? */
function stunAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    const request = Buffer.alloc(20);
    request.writeUInt16BE(0x0001, 0); // Binding request, no attributes
    request.writeUInt32BE(0x2112a442, 4); // magic cookie
    randomBytes(12).copy(request, 8); // transaction id
    let settled = false;
    const done = (answered: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.close();
      resolve(answered);
    };
    const timer = setTimeout(() => done(false), 200);
    s.on("message", (m) => {
      if (m.length >= 20 && m.subarray(8, 20).equals(request.subarray(8, 20))) done(true);
    });
    s.once("error", () => done(false));
    s.send(request, port, "127.0.0.1");
  });
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
