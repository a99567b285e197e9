// The bridge anchor's application: a voice agent that echoes the caller's audio back through
// rtcgw's bridge protocol (docs/pipeline.md, "Bridge protocol"): every binary frame it is sent
// (20 ms of 16 kHz s16le) goes straight back; text (start/stop) is read and ignored.
//
//   tsx bench/anchors/echo-agent.ts      (prints READY <port>; counts frames on GET /stats)
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

let frames = 0;
const http = createServer((_req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ frames }));
});
const wss = new WebSocketServer({ server: http });
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => {
    if (!isBinary) return;
    frames++;
    ws.send(data, { binary: true });
  });
});
http.listen(0, "127.0.0.1", () => {
  process.stdout.write(`READY ${(http.address() as { port: number }).port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
