// A real redis-server for tests and benchmarks: started on a free loopback port with no
// persistence, stoppable and restartable on the same port (to test a store going away and
// coming back), always killed when the test process exits.
import { type ChildProcess, spawn } from "node:child_process";
import { connect, createServer } from "node:net";

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** (re)start on the same port; resolves once it answers PING */
  start(): Promise<void>;
  /** stop it (SIGTERM, SIGKILL after 3 s); resolves when the process has exited */
  stop(): Promise<void>;
  /** freeze the process (SIGSTOP): connections stay open but nothing answers */
  pause(): void;
  /** unfreeze it (SIGCONT) */
  resume(): void;
}

const BINARY = process.env.REDIS_SERVER_BIN ?? "redis-server";
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

export async function startRedisServer(): Promise<RedisServer> {
  // A port found free can be taken before redis binds it: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const server = new Server(await freePort());
    try {
      await server.start();
      return server;
    } catch (e) {
      lastError = e;
      await server.stop();
    }
  }
  throw lastError;
}

class Server implements RedisServer {
  readonly url: string;
  private proc: ChildProcess | undefined;
  private stderr = "";

  constructor(readonly port: number) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    if (this.proc) return;
    this.stderr = "";
    // biome-ignore format: flag/value pairs read best side by side
    const args = [
      "--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
      "--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning",
    ];
    const proc = spawn(BINARY, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    live.add(proc);
    const output = (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-2000);
    };
    proc.stdout!.on("data", output);
    proc.stderr!.on("data", output);
    let exited = false;
    proc.once("exit", () => {
      exited = true;
      live.delete(proc);
      if (this.proc === proc) this.proc = undefined;
    });
    proc.once("error", (e) => {
      exited = true;
      this.stderr += `\n${e.message}`;
    });
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      if (exited) throw new Error(`redis-server exited on port ${this.port}: ${this.stderr.trim()}`);
      if (await pingOk(this.port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`redis-server did not answer on port ${this.port} within 10 s: ${this.stderr.trim()}`);
  }

  pause(): void {
    this.proc?.kill("SIGSTOP");
  }

  resume(): void {
    this.proc?.kill("SIGCONT");
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.proc = undefined;
    if (proc.exitCode !== null || (proc.signalCode !== null && proc.signalCode !== "SIGSTOP")) return;
    proc.kill("SIGCONT"); // a paused server cannot act on SIGTERM
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => proc.kill("SIGKILL"), 3000);
      proc.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      proc.kill("SIGTERM");
    });
  }
}

/** One raw RESP PING: true on +PONG. */
function pingOk(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once("error", () => done(false));
    sock.once("connect", () => sock.write("PING\r\n"));
    sock.once("data", (d) => done(d.toString().startsWith("+PONG")));
  });
}

/** A free TCP port on loopback: bind port 0, read what the OS gave, release it. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
