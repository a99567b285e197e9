// A peer that closes is noticed within 2 s (not the 27–30 s of ICE consent expiry): the node
// hears the close through node-datachannel's state change (SCTP/DTLS shutdown of a peer with a
// datachannel) or the RTCP BYE the client's stack sends (aiortc: test/e2e/recording-length),
// and tears the session down as "peer-closed" — the registry record goes with it. An audio-only
// node-datachannel or GStreamer peer that closes sends nothing at all (captured, see docs/node.md):
// its silence interrupts the session ("silent", RTCGW_SILENCE_INTERRUPT_S) within 2 s of its
// last packet, and without a resume it ends at the window (the last test; a peer that only
// paused and comes back: silent-peer.test.ts).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { SessionStatus } from "../../src/control/contract.js";
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

  it("audio-only node-datachannel client (no datachannel, sends nothing when it closes): interrupted within 2 s (silent; at once when its close does reach the node), ended at the resume window, its WAV the audio it sent", {
    timeout: 30_000,
  }, async () => {
    // the default silence threshold (RTCGW_SILENCE_INTERRUPT_S=1.5); a short resume window so the
    // end comes soon; media and disconnect timeouts far away: only the silence can tell
    const WINDOW_S = 3;
    h = await startHarness({
      RTCGW_RESUME_WINDOW: String(WINDOW_S),
      RTCGW_MEDIA_TIMEOUT: "60",
      RTCGW_DISCONNECT_TIMEOUT: "60",
    });
    expect(h.config.RTCGW_SILENCE_INTERRUPT_S).toBe(1.5);
    const silenceMs = h.config.RTCGW_SILENCE_INTERRUPT_S * 1000;
    const c = await ClientPeer.create({ direction: "sendonly", dataChannel: false, autoSend: false });
    const r = await h.createSession(c.offer, { profile: "record" });
    expect(r.status).toBe(201);
    c.accept(r.json.answer);
    await c.connected(5000);
    c.startSending();
    await c.until(() => c.stats.packetsSent >= 150, 10_000, "3 s sent");
    const status = async (): Promise<SessionStatus> =>
      (await h!.call("GET", `/internal/sessions/${r.sessionId}`)).json;
    // 3 s of a call with packets every 20 ms: never taken for silence
    expect((await status()).state).toBe("connected");
    // it closes while it sends (as a hang-up does): its last packet goes out just before
    const t0 = Date.now();
    void c.close();
    let st: SessionStatus | undefined;
    await waitFor(
      async () => {
        st = await status();
        return st?.state === "interrupted";
      },
      5000,
      "the session to be interrupted",
    );
    const noticedMs = Date.now() - t0;
    const sentMs = c.stats.packetsSent * 20;
    // measured from the client's last packet: the threshold plus at most one watchdog sweep (200 ms)
    const interruptedAt = st!.interruptedAt!;
    const afterLastMs = interruptedAt - c.lastSentAt!;
    console.log(
      `audio-only node-datachannel close: interrupted (${st!.interruptedBy}) ${noticedMs} ms after close(), ${afterLastMs} ms after its last packet`,
    );
    // Almost always it sends nothing and its silence tells (docs/node.md). Once in CI (a starved
    // machine) the node's stack heard the close itself 7 ms after it ("disconnected"): a close
    // that does reach the node is taken at once, as it should be; the silence's own threshold is
    // then not what this run measured (silent-peer.test.ts measures it with a pause).
    expect(["silent", "disconnected"]).toContain(st!.interruptedBy);
    if (st!.interruptedBy === "silent") {
      expect(afterLastMs).toBeGreaterThanOrEqual(silenceMs);
      expect(afterLastMs).toBeLessThanOrEqual(silenceMs + 200 + 50);
    }
    // issue 14: a peer that closes is noticed within 2 s
    expect(noticedMs).toBeLessThan(2000);
    expect(st!.resumeBy).toBe(interruptedAt + WINDOW_S * 1000);
    // the registry says so too (an interrupted session's record is "disconnected")
    await waitFor(
      async () => (await h!.registry.getSession(r.sessionId))?.state === "disconnected",
      500,
      "the record to say disconnected",
    );
    expect(
      (await (await fetch(`${h.node.controlUrl}/metrics`)).text()).match(
        new RegExp(`^rtcgw_session_interruptions_total\\{[^}]*cause="${st!.interruptedBy}"[^}]*\\} 1$`, "m"),
      ),
    ).not.toBeNull();
    // nobody resumes it: it ends at the window, as every interruption does
    await waitFor(() => h!.node.sessions() === 0, WINDOW_S * 1000 + 2000, "the session to end");
    const endedMs = Date.now() - interruptedAt;
    expect(endedMs).toBeGreaterThanOrEqual(WINDOW_S * 1000 - 50);
    expect(await teardowns()).toMatch(/reason="resume-timeout"[^\n]* 1/);
    expect(await teardowns()).not.toMatch(/reason="(failed|peer-closed)"/);
    const wav = readFileSync(join(h.config.RECORDINGS_DIR, `${r.sessionId}.wav`));
    const wavMs = (wav.readUInt32LE(40) / (wav.readUInt32LE(24) * wav.readUInt16LE(22) * 2)) * 1000;
    console.log(`… ended ${endedMs} ms after the interruption; sent ${sentMs} ms → WAV ${wavMs} ms`);
    // nothing of the silence after the close is in the recording
    expect(Math.abs(wavMs - sentMs)).toBeLessThanOrEqual(40);
  });
});
