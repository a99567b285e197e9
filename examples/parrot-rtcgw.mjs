// A parrot voice agent in rtcgw's bridge protocol (docs/bridge.md): it listens to the caller with
// an energy VAD, and when the caller pauses it says back what it heard; if the caller speaks over
// it, it stops (barge-in: clear). Run: `node examples/parrot-rtcgw.mjs` (PORT, default 8765),
// then call it with ?profile=bridge&bridge=ws://127.0.0.1:8765/ (`npm start` runs it for you).
import { pathToFileURL } from "node:url";
import { WebSocketServer } from "ws";

const SPEECH_RMS = 500; // a 20 ms frame louder than this is speech
const PAUSE_FRAMES = 30; // 600 ms of quiet after speech: the caller's turn is over
const MIN_SPEECH_FRAMES = 10; // ignore clicks shorter than 200 ms

export function startParrotRtcgw({ port = 0, host = "127.0.0.1" } = {}) {
  const wss = new WebSocketServer({ port, host });
  wss.on("connection", (ws) => {
    let heard = []; // the caller's frames of this turn
    let quiet = 0;
    let speaking = false; // we are playing back (a mark is pending)
    ws.on("message", (data, isBinary) => {
      if (!isBinary) {
        const msg = JSON.parse(String(data));
        if (msg.type === "mark") speaking = false; // our playback has reached the caller
        return;
      }
      const frame = new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
      const loud = rms(frame) > SPEECH_RMS;
      if (loud && speaking) {
        ws.send(JSON.stringify({ type: "clear" })); // barge-in: stop talking, listen
        speaking = false;
      }
      if (loud || heard.length > 0) heard.push(Buffer.from(data));
      quiet = loud ? 0 : quiet + 1;
      if (quiet >= PAUSE_FRAMES && heard.length > 0) {
        if (heard.length - quiet >= MIN_SPEECH_FRAMES) {
          ws.send(Buffer.concat(heard.slice(0, heard.length - quiet))); // say it back
          ws.send(JSON.stringify({ type: "mark", name: "parrot" }));
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

function rms(frame) {
  let sum = 0;
  for (const s of frame) sum += s * s;
  return Math.sqrt(sum / frame.length);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { url } = await startParrotRtcgw({ port: Number(process.env.PORT ?? 8765) });
  console.log(`parrot (rtcgw protocol) listening at ${url}`);
}
