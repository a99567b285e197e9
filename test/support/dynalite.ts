// dynalite (a real DynamoDB implementation on LevelDB) in this process, on a free loopback port.
// By default its data lives in a temporary directory, so stop() + start() on the same port is a
// real outage and recovery: the tables and items are still there afterwards.
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
