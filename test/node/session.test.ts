// Sessions end to end over loopback: real node-datachannel client peers, real Opus.
import { parse } from "sdp-transform";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientPeer, toneRatio } from "../support/client-peer.js";
import { type Harness, startHarness, waitFor } from "./harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("a two-way echo session", () => {
  it("answers sendrecv with our SSRC, carries media both ways and echoes datachannels", async () => {
    const c = await ClientPeer.create({ direction: "sendrecv", toneHz: 440 });
    const r = await h.createSession(c.offer, { kind: "session", profile: "echo" });
    expect(r.status).toBe(201);
    expect(r.json.nodeId).toBe(h.node.id);
    const answer = parse(r.json.answer);
    const audio = answer.media.find((m) => m.type === "audio")!;
    expect(audio.direction).toBe("sendrecv");
    const ourSsrc = audio.ssrcs?.[0]?.id;
    expect(ourSsrc).toBeDefined();
    expect(Number(ourSsrc)).not.toBe(c.ssrc);
    // non-trickle: every host candidate is in the answer, on the node's one muxed port
    expect(audio.candidates?.length).toBeGreaterThan(0);
    expect(audio.candidates!.every((x) => x.port === h.node.udpPort)).toBe(true);

    c.accept(r.json.answer);
    await c.connected(5000);
    await c.until(() => c.stats.packetsReceived >= 50, 5000, "50 echoed packets");
    expect(c.stats.ssrcs).toEqual([Number(ourSsrc)]);
    const { rate, samples } = c.receivedPcm();
    // skip the decoder's start-up, then the echoed audio is the 440 Hz tone we sent
    expect(toneRatio(samples.subarray(rate / 5), rate, 440)).toBeGreaterThan(0.8);
    expect(toneRatio(samples.subarray(rate / 5), rate, 1000)).toBeLessThan(0.05);

    await c.channelOpen();
    c.sendText("hello node");
    expect(await c.message(0)).toBe("hello node");

    const st = await h.call("GET", `/internal/sessions/${r.sessionId}`);
    expect(st.status).toBe(200);
    expect(st.json.state).toBe("connected");
    expect(st.json.stats.packetsIn).toBeGreaterThan(0);
    expect(st.json.stats.packetsOut).toBeGreaterThan(0);
    expect((await h.registry.getSession(r.sessionId))?.state).toBe("connected");

    expect((await h.call("DELETE", `/internal/sessions/${r.sessionId}`)).status).toBe(204);
    expect(h.node.sessions()).toBe(0);
    expect(await h.registry.getSession(r.sessionId)).toBeUndefined();
    await c.close();
  });

  it("a WHIP offer is answered recvonly; a PCMU offer is accepted", async () => {
    const c = await ClientPeer.create({ direction: "sendonly", codec: "pcmu", dataChannel: false });
    const r = await h.createSession(c.offer, { kind: "whip", profile: "record" });
    expect(r.status).toBe(201);
    const audio = parse(r.json.answer).media.find((m) => m.type === "audio")!;
    expect(audio.direction).toBe("recvonly");
    expect(audio.rtp.map((x) => x.codec.toUpperCase())).toEqual(["PCMU"]);
    c.accept(r.json.answer);
    await c.connected(5000);
    await waitFor(
      async () => (await h.call("GET", `/internal/sessions/${r.sessionId}`)).json.stats.packetsIn > 10,
      5000,
      "packets in",
    );
    await h.call("DELETE", `/internal/sessions/${r.sessionId}`);
    await c.close();
  });

  it("a WHEP listener hears its source's audio (answer sendonly) and ends with it", async () => {
    const src = await ClientPeer.create({ direction: "sendonly", dataChannel: false, toneHz: 600 });
    const rs = await h.createSession(src.offer, { kind: "whip", profile: "record" });
    src.accept(rs.json.answer);
    await src.connected(5000);
    const listener = await ClientPeer.create({ direction: "recvonly", dataChannel: false });
    const rl = await h.createSession(listener.offer, {
      kind: "whep",
      profile: "echo",
      sourceSessionId: rs.sessionId,
    });
    expect(rl.status).toBe(201);
    const audio = parse(rl.json.answer).media.find((m) => m.type === "audio")!;
    expect(audio.direction).toBe("sendonly");
    listener.accept(rl.json.answer);
    await listener.connected(5000);
    await listener.until(() => listener.stats.packetsReceived >= 50, 5000, "50 relayed packets");
    const { rate, samples } = listener.receivedPcm();
    expect(toneRatio(samples.subarray(rate / 5), rate, 600)).toBeGreaterThan(0.8);
    // the listener ends with its source
    expect((await h.call("DELETE", `/internal/sessions/${rs.sessionId}`)).status).toBe(204);
    await waitFor(() => h.node.sessions() === 0, 3000, "the listener to end with its source");
    expect(
      (
        await h.call("POST", "/internal/sessions", {
          sessionId: rl.sessionId + "x",
          kind: "whep",
          profile: "echo",
          offer: listener.offer,
          sourceSessionId: rs.sessionId,
        })
      ).status,
    ).toBe(404);
    await src.close();
    await listener.close();
  });
});
