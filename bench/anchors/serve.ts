// The anchors' shared signaling and reporting, for the node anchor servers (naive, werift): one
// HTTP server on 127.0.0.1 the load generator talks to instead of rtcgw's control API.
//   POST /offer {sdp}          → {id, answer}      a session, answered non-trickle
//   GET  /stats                → {sessions: {id: {packetsIn, packetsOut, samplesIn}}}
//   POST /window               → the bench's measurement window starts: ELU and loop delay reset
//   GET  /window               → {elu, loopP99Ms} since POST /window
//   DELETE /sessions/:id       → the session ends (a recording is finalised)
// The server prints "READY <port>" on stdout once it listens.
import { createServer } from "node:http";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";

export interface AnchorSession {
  answer: string;
  stats: () => { packetsIn: number; packetsOut: number; samplesIn: number };
  close: () => void | Promise<void>;
}

export function serveAnchor(create: (offerSdp: string, id: string) => Promise<AnchorSession>) {
  const sessions = new Map<string, AnchorSession>();
  let next = 0;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let elu0 = performance.eventLoopUtilization();
  const server = createServer(async (req, res) => {
    const body = await new Promise<string>((r) => {
      let s = "";
      req.on("data", (c) => {
        s += c;
      });
      req.on("end", () => r(s));
    });
    const reply = (status: number, o: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(o));
    };
    try {
      if (req.method === "POST" && req.url === "/offer") {
        const id = `a${next++}`;
        const s = await create(JSON.parse(body).sdp, id);
        sessions.set(id, s);
        return reply(201, { id, answer: s.answer });
      }
      if (req.method === "GET" && req.url === "/stats") {
        const out: Record<string, unknown> = {};
        for (const [id, s] of sessions) out[id] = s.stats();
        return reply(200, { sessions: out });
      }
      if (req.method === "POST" && req.url === "/window") {
        loop.reset();
        elu0 = performance.eventLoopUtilization();
        return reply(200, {});
      }
      if (req.method === "GET" && req.url === "/window") {
        const elu = performance.eventLoopUtilization(elu0).utilization;
        return reply(200, { elu, loopP99Ms: Math.max(0, loop.percentile(99) / 1e6 - 10) });
      }
      const m = /^\/sessions\/([\w-]+)$/.exec(req.url ?? "");
      if (req.method === "DELETE" && m) {
        const s = sessions.get(m[1]!);
        sessions.delete(m[1]!);
        await s?.close();
        return reply(s ? 200 : 404, {});
      }
      reply(404, { error: "not found" });
    } catch (e) {
      reply(500, { error: (e as Error).message });
    }
  });
  server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
    const a = server.address() as { port: number };
    process.stdout.write(`READY ${a.port}\n`);
  });
  process.on("SIGTERM", () => process.exit(0));
}
