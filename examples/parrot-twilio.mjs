// The same parrot, speaking Twilio Media Streams (docs/bridge.md, "twilio"): as it would run
// behind a Twilio <Connect><Stream>, and unchanged behind rtcgw with &bridge_protocol=twilio.
// Energy VAD on the μ-law audio; at the caller's pause it sends the turn back as media + a mark;
// caller speech while it plays sends clear. Run: `node examples/parrot-twilio.mjs` (PORT, 8766).
import { pathToFileURL } from "node:url";
import { WebSocketServer } from "ws";

const SPEECH_RMS = 500;
const PAUSE_FRAMES = 30; // 600 ms of 20 ms media messages
const MIN_SPEECH_FRAMES = 10;

/** G.711 μ-law byte → linear sample */
const ULAW = Int16Array.from({ length: 256 }, (_, u) => {
  const x = ~u & 0xff;
  const m = (((x & 0x0f) << 3) + 0x84) << ((x >> 4) & 7);
  return x & 0x80 ? 0x84 - m : m - 0x84;
});

export function startParrotTwilio({ port = 0, host = "127.0.0.1" } = {}) {
  const wss = new WebSocketServer({ port, host });
  wss.on("connection", (ws) => {
    let streamSid;
    let heard = []; // base64 payloads of this turn
    let quiet = 0;
    let speaking = false;
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data));
      if (msg.event === "start") streamSid = msg.start.streamSid;
      if (msg.event === "mark") speaking = false;
      if (msg.event !== "media") return;
      const bytes = Buffer.from(msg.media.payload, "base64");
      let sum = 0;
      for (const b of bytes) sum += ULAW[b] ** 2;
      const loud = Math.sqrt(sum / bytes.length) > SPEECH_RMS;
      if (loud && speaking) {
        ws.send(JSON.stringify({ event: "clear", streamSid }));
        speaking = false;
      }
      if (loud || heard.length > 0) heard.push(msg.media.payload);
      quiet = loud ? 0 : quiet + 1;
      if (quiet >= PAUSE_FRAMES && heard.length > 0) {
        if (heard.length - quiet >= MIN_SPEECH_FRAMES) {
          for (const payload of heard.slice(0, heard.length - quiet))
            ws.send(JSON.stringify({ event: "media", streamSid, media: { payload } }));
          ws.send(JSON.stringify({ event: "mark", streamSid, mark: { name: "parrot" } }));
          speaking = true;
        }
        heard = [];
      }
    });
  });
  return new Promise((resolve) =>
    wss.once("listening", () => resolve({ wss, url: `ws://${host}:${wss.address().port}/` })),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { url } = await startParrotTwilio({ port: Number(process.env.PORT ?? 8766) });
  console.log(`parrot (Twilio Media Streams) listening at ${url}`);
}
