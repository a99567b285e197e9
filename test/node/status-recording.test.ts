// A live session's status names the files it records into from its start (it said nothing until
// the session had closed — when it is no longer served): an Opus record session its WAV and Ogg,
// a PCMU one its WAV alone (no Ogg is written for G.711), a recorded bridge its stereo WAV; and
// with a bucket, the object keys of exactly those files.
import { afterAll, beforeAll, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { recordingObjects } from "../../src/recordings/index.js";
import { ClientPeer } from "../support/client-peer.js";
import { type Harness, startHarness } from "./harness.js";

let h: Harness;
let wss: WebSocketServer;
let url: string;
beforeAll(async () => {
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((r) => wss.once("listening", r));
  wss.on("connection", (ws: WebSocket) => ws.on("message", () => {}));
  url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/`;
  h = await startHarness({ RTCGW_BRIDGE_ALLOW: url });
});
afterAll(async () => {
  await h?.close();
  for (const c of wss.clients) c.terminate();
  await new Promise<void>((r) => wss.close(() => r()));
});

async function liveStatus(codec: "opus" | "pcmu", profile: "record" | "bridge") {
  const c = await ClientPeer.create({ direction: "sendrecv", codec, dataChannel: false });
  const r = await h.createSession(c.offer, {
    profile,
    ...(profile === "bridge" ? { body: { bridgeUrl: url, bridgeRecord: true } } : {}),
  });
  expect(r.status).toBe(201);
  c.accept(r.json.answer);
  await c.connected(5000);
  const st = (await h.call("GET", `/internal/sessions/${r.sessionId}`)).json;
  await h.call("DELETE", `/internal/sessions/${r.sessionId}`);
  await c.close();
  return { st, id: r.sessionId as string };
}

it("an Opus record session, live: its WAV and Ogg", async () => {
  const { st, id } = await liveStatus("opus", "record");
  expect(st.recording).toEqual({
    wav: expect.stringMatching(new RegExp(`${id}\\.wav$`)),
    ogg: expect.stringMatching(new RegExp(`${id}\\.ogg$`)),
  });
});

it("a PCMU record session, live: its WAV, and no Ogg it will never write", async () => {
  const { st, id } = await liveStatus("pcmu", "record");
  expect(st.recording).toEqual({ wav: expect.stringMatching(new RegExp(`${id}\\.wav$`)) });
});

it("a recorded bridge, live: its stereo WAV", async () => {
  const { st, id } = await liveStatus("opus", "bridge");
  expect(st.recording).toEqual({ wav: expect.stringMatching(new RegExp(`${id}\\.wav$`)) });
});

it("the object keys are those files' names under the prefix, as the uploader puts them", () => {
  expect(recordingObjects("b", "calls/", { wav: "/rec/x.wav", ogg: "/rec/x.ogg" })).toEqual({
    bucket: "b",
    wav: "calls/x.wav",
    ogg: "calls/x.ogg",
  });
  expect(recordingObjects("b", "", { wav: "/rec/y.wav" })).toEqual({ bucket: "b", wav: "y.wav" });
});
