// A bench's window into a node process it started with `--inspect=127.0.0.1:0`: the process's
// own memory figures (process.memoryUsage()), a forced full GC, and V8 heap snapshots, all over
// the Chrome DevTools Protocol. Nothing of this is in the node itself: no debug route, no flag
// in production; only a process the bench spawned with the inspector on can be asked.
import { createWriteStream } from "node:fs";
import type { Readable } from "node:stream";
import WebSocket from "ws";

export interface MemoryFigures {
  /** resident set size of the whole process (V8 heap + native: libdatachannel, glibc, WASM) */
  rss: number;
  heapTotal: number;
  heapUsed: number;
  /** memory of C++ objects bound to JS objects, ArrayBuffers and WASM memories included */
  external: number;
  /** ArrayBuffers and SharedArrayBuffers (Buffers and WebAssembly.Memory included) */
  arrayBuffers: number;
}

/** the inspector's WebSocket URL, read from the child's stderr ("Debugger listening on ws://…") */
export function inspectorUrl(stderr: Readable, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const t = setTimeout(() => reject(new Error("no inspector URL on the node's stderr")), timeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const m = /Debugger listening on (ws:\/\/\S+)/.exec(seen);
      if (m) {
        clearTimeout(t);
        stderr.off("data", onData);
        resolve(m[1]!);
      }
    };
    stderr.on("data", onData);
  });
}

export class Inspector {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Map<string, (params: Record<string, unknown>) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data)) as {
        id?: number;
        method?: string;
        params?: Record<string, unknown>;
        result?: unknown;
        error?: { message: string };
      };
      if (msg.id !== undefined) {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(msg.error.message));
        else p?.resolve(msg.result);
      } else if (msg.method) this.listeners.get(msg.method)?.(msg.params ?? {});
    });
  }

  static async connect(url: string): Promise<Inspector> {
    const ws = new WebSocket(url, { maxPayload: 1 << 30 });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new Inspector(ws);
  }

  send<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.next++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) =>
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject }),
    );
  }

  /** process.memoryUsage() of the inspected process, in bytes */
  async memory(): Promise<MemoryFigures> {
    const r = await this.send<{ result: { value: string } }>("Runtime.evaluate", {
      expression: "JSON.stringify(process.memoryUsage())",
      returnByValue: true,
    });
    return JSON.parse(r.result.value) as MemoryFigures;
  }

  /** a full, compacting GC (what `--expose-gc`'s gc() does), twice: finalizers run between */
  async gc(): Promise<void> {
    await this.send("HeapProfiler.collectGarbage");
    await new Promise((r) => setTimeout(r, 200));
    await this.send("HeapProfiler.collectGarbage");
  }

  /** a V8 heap snapshot written to `path` (open it in Chrome DevTools' Memory tab) */
  async heapSnapshot(path: string): Promise<void> {
    const out = createWriteStream(path);
    this.listeners.set("HeapProfiler.addHeapSnapshotChunk", (p) => out.write(p.chunk as string));
    await this.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    this.listeners.delete("HeapProfiler.addHeapSnapshotChunk");
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }

  close(): void {
    this.ws.close();
  }
}
