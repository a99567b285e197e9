// POST /v1/sessions?profile=bridge through the function handlers: the signaling hands the bridge
// URL to the node, the node dials the application (a real `ws` server here) and the caller's audio
// arrives there; a URL outside RTCGW_BRIDGE_ALLOW comes back to the client as the node's 403 with
// its reason, with no record left behind.
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { ClientPeer } from "../support/client-peer.js";
import { type FnHarness, invoke, sdpHeaders, startFnHarness } from "./harness.js";

let h: FnHarness;
let app: WebSocketServer;
let appUrl: string;
const starts: Array<{ sessionId: string }> = [];
let frames = 0;
const peers: ClientPeer[] = [];

beforeAll(async () => {
  app = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((r) => app.once("listening", () => r()));
  appUrl = `ws://127.0.0.1:${(app.address() as AddressInfo).port}/agent`;
  app.on("connection", (ws) => {
    ws.on("message", (data, isBinary) => {
      if (isBinary) frames++;
      else starts.push(JSON.parse(String(data)));
    });
  });
  h = await startFnHarness({ RTCGW_BRIDGE_ALLOW: `ws://127.0.0.1:${(app.address() as AddressInfo).port}/` });
});
afterAll(async () => {
  for (const p of peers) await p.close();
  await h?.close();
  await new Promise((r) => app.close(r));
});

describe("POST /v1/sessions?profile=bridge", () => {
  it("201; the node dials the application with the session's id and streams the caller's audio to it", async () => {
    const c = await ClientPeer.create({ direction: "sendrecv", dataChannel: false });
    peers.push(c);
    const r = await invoke({
      method: "POST",
      path: `/v1/sessions?profile=bridge&bridge=${encodeURIComponent(appUrl)}`,
      headers: sdpHeaders(),
      body: c.offer,
    });
    expect(r.status).toBe(201);
    const id = r.headers.location!.split("/").pop()!;
    expect((await h.registry.getSession(id))?.profile).toBe("bridge");
    c.accept(r.body);
    await c.connected(8000);
    await c.until(
      () => starts.some((s) => s.sessionId === id) && frames >= 25,
      8000,
      "the application to hear the call",
    );
    // the public status shows the application's leg
    const st = await invoke({
      method: "GET",
      path: r.headers.location!,
      headers: { authorization: `Bearer ${r.headers["rtcgw-session-token"]}` },
    });
    expect(st.status).toBe(200);
    expect(st.json().bridge).toMatchObject({ state: "open", failed: false });
    const del = await invoke({
      method: "DELETE",
      path: r.headers.location!,
      headers: { authorization: `Bearer ${r.headers["rtcgw-session-token"]}` },
    });
    expect(del.status).toBe(200);
  });

  it("bridge_protocol=twilio and bridge_param_* reach the node: the agent gets Twilio's connected and a start with the parameters", async () => {
    const c = await ClientPeer.create({ direction: "sendrecv", dataChannel: false });
    peers.push(c);
    const r = await invoke({
      method: "POST",
      path: `/v1/sessions?profile=bridge&bridge=${encodeURIComponent(appUrl)}&bridge_protocol=twilio&bridge_param_language=fr`,
      headers: sdpHeaders(),
      body: c.offer,
    });
    expect(r.status).toBe(201);
    const id = r.headers.location!.split("/").pop()!;
    c.accept(r.body);
    await c.connected(8000);
    const twilioStart = () =>
      (
        starts as unknown as Array<{ event?: string; start?: { callSid: string; customParameters: unknown } }>
      ).find((m) => m.event === "start" && m.start?.callSid === id);
    await c.until(() => twilioStart() !== undefined, 8000, "the Twilio start");
    expect(twilioStart()!.start!.customParameters).toEqual({ language: "fr" });
    const del = await invoke({
      method: "DELETE",
      path: r.headers.location!,
      headers: { authorization: `Bearer ${r.headers["rtcgw-session-token"]}` },
    });
    expect(del.status).toBe(200);
  });

  it("a bridge URL the operator did not allow: the node's 403 and its reason reach the client, no record is left", async () => {
    const c = await ClientPeer.create({ direction: "sendrecv", dataChannel: false });
    peers.push(c);
    const before = (await h.registry.listSessionsByNode(h.node.id)).length;
    const connections = starts.length;
    const r = await invoke({
      method: "POST",
      path: `/v1/sessions?profile=bridge&bridge=${encodeURIComponent("wss://elsewhere.example.net/agent")}`,
      headers: sdpHeaders(),
      body: c.offer,
    });
    expect(r.status).toBe(403);
    expect(r.json().error).toBe("bridge-url-not-allowed");
    expect(r.json().reason).toMatch(/RTCGW_BRIDGE_ALLOW/);
    expect((await h.registry.listSessionsByNode(h.node.id)).length).toBe(before);
    expect(starts.length).toBe(connections);
  });

  it("the bridge profile without a URL is a 400 that says how to give one", async () => {
    const c = await ClientPeer.create({ direction: "sendrecv", dataChannel: false });
    peers.push(c);
    const r = await invoke({
      method: "POST",
      path: "/v1/sessions?profile=bridge",
      headers: sdpHeaders(),
      body: c.offer,
    });
    expect(r.status).toBe(400);
    expect(r.json().reason).toMatch(/bridge=ws/);
  });
});
