// The bridge benches' application: a voice agent that echoes the caller's audio back through one
// of rtcgw's bridge protocols (docs/bridge.md), as cheaply as the protocol allows:
//   rtcgw  — every binary frame (20 ms of s16le PCM) goes straight back; text (start/stop) ignored
//   twilio — every `media` event goes back as Twilio documents the agent's `media` message
//            ({"event":"media","streamSid","media":{"payload"}}), the payload untouched
//
//   tsx bench/anchors/echo-agent.ts [--protocol rtcgw|twilio]
//   (prints READY <port>; counts frames on GET /stats)
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

const i = process.argv.indexOf("--protocol");
const protocol = i > 0 ? process.argv[i + 1] : "rtcgw";
if (protocol !== "rtcgw" && protocol !== "twilio") {
  process.stderr.write(`echo-agent: --protocol rtcgw|twilio (got ${protocol})\n`);
  process.exit(2);
}

let frames = 0;
let sockets = 0;
const http = createServer((_req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ frames, sockets }));
});
const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
wss.on("connection", (ws) => {
  sockets++;
  ws.on("message", (data, isBinary) => {
    if (protocol === "rtcgw") {
      if (!isBinary) return;
      frames++;
      ws.send(data, { binary: true });
      return;
    }
    if (isBinary) return;
    const m = JSON.parse(data.toString()) as {
      event?: string;
      streamSid?: string;
      media?: { payload?: string };
    };
    if (m.event !== "media" || typeof m.media?.payload !== "string") return;
    frames++;
    ws.send(JSON.stringify({ event: "media", streamSid: m.streamSid, media: { payload: m.media.payload } }));
  });
});
http.listen(0, "127.0.0.1", () => {
  process.stdout.write(`READY ${(http.address() as { port: number }).port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
