// RTCGW_OPUS_ENCODER end to end: a node started on each backend says which one it runs
// (/metrics) and echoes a real client's tone through it; the encoder that runs is the one named.
import { afterEach, describe, expect, it } from "vitest";
import { opusEncoderBackend } from "../../src/audio/codecs/index.js";
import { ClientPeer, toneRatio } from "../support/client-peer.js";
import { type Harness, startHarness } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe.each(["native", "wasm"] as const)("a node with RTCGW_OPUS_ENCODER=%s", (backend) => {
  it("runs that encoder, says so in /metrics, and the caller hears its own tone back", async () => {
    h = await startHarness({ RTCGW_OPUS_ENCODER: backend });
    expect(opusEncoderBackend()).toBe(backend);
    const metrics = await (await fetch(`${h.node.controlUrl}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`rtcgw_opus_encoder_info\\{[^}]*backend="${backend}"[^}]*\\} 1`));
    const c = await ClientPeer.create({ direction: "sendrecv", toneHz: 440, dataChannel: false });
    const r = await h.createSession(c.offer, { kind: "session", profile: "echo" });
    expect(r.status).toBe(201);
    c.accept(r.json.answer);
    await c.connected(5000);
    await c.until(() => c.stats.packetsReceived >= 50, 5000, "50 echoed packets");
    const { rate, samples } = c.receivedPcm();
    expect(toneRatio(samples.subarray(rate / 5), rate, 440)).toBeGreaterThan(0.8);
    expect((await h.call("DELETE", `/internal/sessions/${r.sessionId}`)).status).toBe(204);
    await c.close();
  });
});
