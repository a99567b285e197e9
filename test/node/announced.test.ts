// 1:1 NAT: bound to every interface, the node announces one address; the answer carries only
// that address and the client connects through it.
import { parse } from "sdp-transform";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ClientPeer } from "../support/client-peer.js";
import { type Harness, startHarness } from "./harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ MEDIA_BIND_ADDRESS: "0.0.0.0", MEDIA_ANNOUNCED_ADDRESS: "127.0.0.1" });
});
afterAll(async () => {
  await h?.close();
});

it("writes MEDIA_ANNOUNCED_ADDRESS into the answer's candidates and connects through it", async () => {
  const c = await ClientPeer.create({ dataChannel: false });
  const r = await h.createSession(c.offer);
  expect(r.status).toBe(201);
  const audio = parse(r.json.answer).media[0]!;
  expect(audio.candidates?.length).toBe(1);
  expect(audio.candidates![0]).toMatchObject({ ip: "127.0.0.1", port: h.node.udpPort, type: "host" });
  expect(audio.connection?.ip ?? parse(r.json.answer).connection?.ip).toBe("127.0.0.1");
  c.accept(r.json.answer);
  await c.connected(5000);
  await c.until(() => c.stats.packetsReceived > 10, 5000, "echo through the announced address");
  await h.call("DELETE", `/internal/sessions/${r.sessionId}`);
  await c.close();
});
