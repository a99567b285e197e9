// dynalite (a real DynamoDB implementation on LevelDB) in this process, on a free loopback port
// (or, for the fault suite, in a process of its own: startDynaliteProcess).
// By default its data lives in a temporary directory, so stop() + start() on the same port is a
// real outage and recovery: the tables and items are still there afterwards.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./redis-server.js";

interface DynaliteOptions {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}
const dynalite = createRequire(import.meta.url)("dynalite") as (opts: DynaliteOptions) => Server;

export interface DynaliteServer {
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  /** listen again on the same port (after stop) */
  start(): Promise<void>;
  /** close the server and every open connection (clients see refused connections) */
  stop(): Promise<void>;
  /** stop and delete the data directory */
  dispose(): Promise<void>;
}

export async function startDynalite(opts: { inMemory?: boolean } = {}): Promise<DynaliteServer> {
  const dir = opts.inMemory ? undefined : mkdtempSync(join(tmpdir(), "rtcgw-dynalite-"));
  const server = dynalite({
    ...(dir ? { path: dir } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const port = await freePort();
  let listening = false;

  const start = () =>
    new Promise<void>((resolve, reject) => {
      if (listening) return resolve();
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        listening = true;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve, reject) => {
      if (!listening) return resolve();
      listening = false;
      // Keep-alive sockets of SDK clients would hold close() open (dynalite waits up to 30 s).
      server.closeAllConnections();
      server.close((e) => (e ? reject(e) : resolve()));
    });

  await start();
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    start,
    stop,
    async dispose() {
      await stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

/**
 * dynalite in a process of its own (its CLI), for the fault suite: stop() SIGKILLs it — the
 * DynamoDB endpoint really goes away — and start() runs it again on the same port and LevelDB
 * directory, so the data survives as a real store's would. In this process, stopping dynalite
 * under the SDK's writes threw "Database is closed" as an uncaught error in the test runner.
 */
export async function startDynaliteProcess(): Promise<DynaliteServer> {
  const dir = mkdtempSync(join(tmpdir(), "rtcgw-dynalite-"));
  const cli = createRequire(import.meta.url).resolve("dynalite/cli.js");
  const port = await freePort();
  let proc: ChildProcess | undefined;
  let output = "";

  const start = async () => {
    if (proc) return;
    output = "";
    // biome-ignore format: flag/value pairs read best side by side
    const args = [cli, "--port", String(port), "--host", "127.0.0.1", "--path", dir,
      "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"];
    const p = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    proc = p;
    live.add(p);
    let exited = false;
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-2000);
    };
    p.stdout!.on("data", keep);
    p.stderr!.on("data", keep);
    p.once("exit", () => {
      exited = true;
      live.delete(p);
      if (proc === p) proc = undefined;
    });
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      if (exited) throw new Error(`dynalite exited on port ${port}: ${output.trim()}`);
      if (output.includes("listening")) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`dynalite did not listen on port ${port} within 20 s: ${output.trim()}`);
  };
  const stop = async () => {
    const p = proc;
    if (!p) return;
    const exited = new Promise<void>((resolve) => p.once("exit", () => resolve()));
    p.kill("SIGKILL");
    await exited;
  };

  await start();
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    start,
    stop,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
