// 200 connect/abort cycles — orderly closes, DELETEs before connecting, clients that give up
// before ICE completes, and clients that vanish (their process killed) — leave no session, no
// registry record, no extra file descriptor, and no crash.
import { readdirSync } from "node:fs";
import { afterAll, beforeAll, expect, it, onTestFinished } from "vitest";
import { ClientPeer, VanishingClients } from "../support/client-peer.js";
import { type Harness, startHarness, waitFor } from "./harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    // long enough for a loaded machine's DTLS handshake (its first flight may be retransmitted after 1 s)
    RTCGW_CONNECT_TIMEOUT: "3",
    RTCGW_DISCONNECT_TIMEOUT: "1",
    RTCGW_MEDIA_TIMEOUT: "1.5",
    RTCGW_NODE_CAPACITY: "1000",
  });
});
afterAll(async () => {
  await h?.close();
});

const fds = () => readdirSync("/proc/self/fd").length;

async function orderly() {
  const c = await ClientPeer.create({ decode: false });
  const r = await h.createSession(c.offer);
  c.accept(r.json.answer);
  await c.connected(10_000);
  await c.until(() => c.stats.packetsReceived > 2, 5000, "echo");
  if (Math.random() < 0.5) await h.call("DELETE", `/internal/sessions/${r.sessionId}`);
  await c.close();
}

async function deletedBeforeConnect() {
  const c = await ClientPeer.create({ decode: false });
  const r = await h.createSession(c.offer);
  expect((await h.call("DELETE", `/internal/sessions/${r.sessionId}`)).status).toBe(204);
  await c.close();
}

async function gaveUp() {
  const c = await ClientPeer.create({ decode: false });
  const r = await h.createSession(c.offer);
  expect(r.status).toBe(201);
  await c.close(); // never applies the answer: the watchdog must reap it
}

it("200 connect/abort cycles leave no session, no record and no fd behind", {
  timeout: 120_000,
}, async () => {
  // warm up: the muxed UDP socket and library threads exist once per process
  await orderly();
  await waitFor(() => h.node.sessions() === 0, 5000, "warm-up session gone");
  await new Promise((r) => setTimeout(r, 500));
  const baseline = fds();

  const vanishing = new VanishingClients();
  onTestFinished(() => vanishing.kill());
  const vanishCycles = async () => {
    const p = await vanishing.create();
    // record, not echo: 50 live echo sessions (Opus encode each) beside the rest of the suite
    // saturate a 2-core machine; recording still exercises decode and two open files per session
    const r = await h.createSession(p.offer, { profile: "record" });
    await vanishing.accept(p.id, r.json.answer);
    await vanishing.connected(p.id, 10_000);
  };
  const kinds = [orderly, deletedBeforeConnect, gaveUp, vanishCycles];
  let done = 0;
  for (let batch = 0; batch < 20; batch++) {
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => kinds[(batch * 10 + i) % 4]!().then(() => done++)),
    );
  }
  expect(done).toBe(200);
  expect(h.node.sessions()).toBeGreaterThanOrEqual(50); // the 50 vanished clients are still "connected"
  // the measure can see peers: 50 live server peers hold descriptors of their own
  const live = fds();
  expect(live).toBeGreaterThan(baseline);
  await vanishing.kill();

  await waitFor(() => h.node.sessions() === 0, 15_000, "every session torn down");
  expect((await h.registry.listSessionsByNode(h.node.id)).length).toBe(0);
  // peers release their fds asynchronously (library threads): allow them a moment
  await waitFor(() => fds() <= baseline + 2, 10_000, `fds back to baseline ${baseline} (now ${fds()})`);
  console.log(`fds: baseline ${baseline}, with 50 live peers ${live}, after ${fds()}`);
  const metrics = await (await fetch(`${h.node.controlUrl}/metrics`)).text();
  expect(metrics).toMatch(/rtcgw_session_teardowns_total\{[^}]*reason="connect-timeout"[^}]*\} 50/);
});
