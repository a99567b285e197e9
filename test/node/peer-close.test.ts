// A peer that closes is noticed within 2 s (not the 27–30 s of ICE consent expiry): the node
// hears the close through node-datachannel's state change (SCTP/DTLS shutdown of a peer with a
// datachannel) or the RTCP BYE the client's stack sends (aiortc: test/e2e/recording-length),
// and tears the session down as "peer-closed" — the registry record goes with it. (An
// audio-only node-datachannel or GStreamer peer that closes sends nothing the node can act on:
// see docs/node.md; such clients DELETE.)
import { afterEach, describe, expect, it } from "vitest";
import { ClientPeer } from "../support/client-peer.js";
import { type Harness, startHarness, waitFor } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function teardowns(): Promise<string> {
  return (await (await fetch(`${h!.node.controlUrl}/metrics`)).text())
    .split("\n")
    .filter((l) => l.startsWith("rtcgw_session_teardowns_total"))
    .join("\n");
}

describe("a peer that closes", () => {
  it.each(["sendrecv", "sendonly"] as const)(
    "node-datachannel client with a datachannel (%s): noticed within 2 s",
    async (direction) => {
      // media timeout far away: only the close itself can end the session in time
      h = await startHarness({ RTCGW_MEDIA_TIMEOUT: "60", RTCGW_DISCONNECT_TIMEOUT: "60" });
      const c = await ClientPeer.create({ direction });
      const r = await h.createSession(c.offer, { profile: "record" });
      expect(r.status).toBe(201);
      c.accept(r.json.answer);
      await c.connected(5000);
      await waitFor(() => h!.node.sessions() === 1, 1000, "the session");
      await new Promise((res) => setTimeout(res, 1000));
      const t0 = Date.now();
      void c.close();
      // noticed: the teardown has begun (metric) and the registry record is gone
      await waitFor(
        async () =>
          /reason="peer-closed"[^\n]* 1/.test(await teardowns()) &&
          (await h!.registry.getSession(r.sessionId)) === undefined,
        2000,
        "the node to notice the close",
      );
      expect(Date.now() - t0).toBeLessThan(2000);
      await waitFor(() => h!.node.sessions() === 0, 3000, "the session to be released");
    },
  );
});
