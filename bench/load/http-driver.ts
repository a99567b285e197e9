// The signaling bench's client (its own process): fires HTTP requests it is sent over IPC, all at
// once or one after another, and times each on its own event loop. A client is never on the
// gateway's event loop: timed from the gateway's process, an answer already written would wait
// for the emulator's other work before the clock could read it.
//
//   const d = startHttpDriver(); await d.run({ mode: "concurrent", requests }); d.close();
import { type ChildProcess, fork } from "node:child_process";
import { Agent, type IncomingHttpHeaders, request } from "node:http";
import { fileURLToPath } from "node:url";

export interface DriverRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}
export interface DriverReply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** request written → last byte of the response read, ms */
  ms: number;
}
interface Job {
  mode: "concurrent" | "sequential";
  requests: DriverRequest[];
}

/** node:http on a keep-alive pool: fetch (undici) costs ~0.7 ms of CPU per request here */
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

export function sendHttp(r: DriverRequest): Promise<DriverReply> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(r.url, { method: r.method ?? "GET", headers: r.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString("utf8"),
          ms: performance.now() - t0,
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(r.body);
  });
}

async function runJob(job: Job): Promise<DriverReply[]> {
  if (job.mode === "concurrent") return Promise.all(job.requests.map(sendHttp));
  const out: DriverReply[] = [];
  for (const r of job.requests) out.push(await sendHttp(r));
  return out;
}

export interface HttpDriver {
  run(job: Job): Promise<DriverReply[]>;
  /** CPU time the driver process has used so far, ms */
  cpuMs(): Promise<number>;
  close(): void;
}

/** the driver child process, spoken to over IPC */
export function startHttpDriver(): HttpDriver {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ["--child"], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let nextId = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on("message", (m: { id: number; result?: unknown; error?: string }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error !== undefined) w?.reject(new Error(m.error));
    else w?.resolve(m.result);
  });
  child.on("exit", (code) => {
    for (const w of waiting.values()) w.reject(new Error(`the HTTP driver exited (${code})`));
    waiting.clear();
  });
  const call = <T>(msg: Record<string, unknown>) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, ...msg });
    });
  return {
    run: (job) => call<DriverReply[]>({ op: "run", job }),
    cpuMs: () => call<number>({ op: "cpu" }),
    close: () => child.kill(),
  };
}

if (process.argv.includes("--child")) {
  process.on("message", (m: { id: number; op: "run" | "cpu"; job?: Job }) => {
    const reply = (data: Record<string, unknown>) => process.send?.({ id: m.id, ...data });
    if (m.op === "cpu") {
      const u = process.cpuUsage();
      reply({ result: (u.user + u.system) / 1000 });
      return;
    }
    runJob(m.job!).then(
      (result) => reply({ result }),
      (e: Error) => reply({ error: e.message }),
    );
  });
  process.on("disconnect", () => process.exit(0));
}
