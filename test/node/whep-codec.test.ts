// A WHEP listener's codec against its source's, on a real node with node-datachannel peers. A
// source that decodes its audio (record, echo, bridge) feeds its listeners re-encoded, so a
// listener may take any codec: a browser's offer (Opus first, PCMU too) and an Opus-only one of a
// PCMU source are answered Opus and hear the source's tone. A source that decodes nothing (the
// blackhole profile) relays its packets as they are: its listener is given the source's codec
// when its offer has it, and is refused (422, saying why) when it has not.
import { parse } from "sdp-transform";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClientCodec, ClientPeer, toneRatio } from "../support/client-peer.js";
import { type Harness, startHarness, waitFor } from "./harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** add a second codec after the offer's own on its audio m-line (a browser offers several) */
function alsoOffer(sdp: string, codec: "opus" | "pcmu"): string {
  const [pt, rtpmap] = codec === "opus" ? [111, "opus/48000/2"] : [0, "PCMU/8000"];
  return sdp
    .replace(/^(m=audio \S+ \S+ [\d ]+?)\r?$/m, `$1 ${pt}`)
    .replace(/^(a=rtpmap:.*)\r?$/m, `$1\r\na=rtpmap:${pt} ${rtpmap}`);
}

const audioCodecs = (answer: string) =>
  parse(answer)
    .media.find((m) => m.type === "audio")!
    .rtp.map((r) => r.codec.toLowerCase());

/** a WHIP source sending `hz` in `codec` */
async function source(codec: ClientCodec, profile: "record" | "blackhole", hz: number) {
  const c = await ClientPeer.create({ direction: "sendonly", dataChannel: false, codec, toneHz: hz });
  const r = await h.createSession(c.offer, { kind: "whip", profile });
  expect(r.status, r.json?.reason).toBe(201);
  c.accept(r.json.answer);
  await c.connected(5000);
  return { c, id: r.sessionId };
}

async function listen(id: string, l: ClientPeer, offer = l.offer) {
  return h.createSession(offer, { kind: "whep", profile: "blackhole", sourceSessionId: id });
}

/** the listener connects and hears `hz` (past its decoder's start) */
async function hears(l: ClientPeer, answer: string, hz: number) {
  l.accept(answer);
  await l.connected(5000);
  await l.until(() => l.stats.packetsReceived >= 40, 5000, "40 packets at the listener");
  const { rate, samples } = l.receivedPcm();
  return toneRatio(samples.subarray(rate / 5), rate, hz);
}

describe("a WHEP listener's codec", () => {
  it("of a PCMU source that decodes: an Opus-first browser offer and an Opus-only one are answered Opus and hear the tone", {
    timeout: 20_000,
  }, async () => {
    const src = await source("pcmu", "record", 500);
    const browser = await ClientPeer.create({ direction: "recvonly", dataChannel: false });
    const rb = await listen(src.id, browser, alsoOffer(browser.offer, "pcmu"));
    expect(rb.status, rb.json?.reason).toBe(201);
    expect(audioCodecs(rb.json.answer)).toEqual(["opus"]);
    const opusOnly = await ClientPeer.create({ direction: "recvonly", dataChannel: false });
    const ro = await listen(src.id, opusOnly);
    expect(ro.status, ro.json?.reason).toBe(201);
    expect(audioCodecs(ro.json.answer)).toEqual(["opus"]);
    const [heardBrowser, heardOpus] = await Promise.all([
      hears(browser, rb.json.answer, 500),
      hears(opusOnly, ro.json.answer, 500),
    ]);
    expect(heardBrowser).toBeGreaterThan(0.8);
    expect(heardOpus).toBeGreaterThan(0.8);
    expect(browser.stats.payloadTypes).toEqual([111]);
    expect((await h.call("DELETE", `/internal/sessions/${src.id}`)).status).toBe(204);
    await waitFor(() => h.node.sessions() === 0, 3000, "the listeners to end with their source");
    await Promise.all([src.c.close(), browser.close(), opusOnly.close()]);
  });

  it("of a source that decodes nothing (blackhole): given the source's codec when offered, refused when not", {
    timeout: 20_000,
  }, async () => {
    const src = await source("pcmu", "blackhole", 700);
    // a PCMU listener whose offer names Opus too (Opus would be chosen for any other source)
    const l = await ClientPeer.create({ direction: "recvonly", dataChannel: false, codec: "pcmu" });
    const r = await listen(src.id, l, alsoOffer(l.offer, "opus"));
    expect(r.status, r.json?.reason).toBe(201);
    expect(audioCodecs(r.json.answer)).toEqual(["pcmu"]);
    expect(await hears(l, r.json.answer, 700)).toBeGreaterThan(0.8);
    expect(l.stats.payloadTypes).toEqual([0]);

    const opusOnly = await ClientPeer.create({ direction: "recvonly", dataChannel: false });
    const refused = await listen(src.id, opusOnly);
    expect(refused.status).toBe(422);
    expect(refused.json).toMatchObject({ error: "unsupported-offer" });
    expect(refused.json.reason).toBe(
      "the source (profile blackhole) decodes nothing: its pcmu packets are relayed as they are, so the listener's offer must accept pcmu (it has no pcmu)",
    );
    expect(h.node.sessions()).toBe(2); // the source and its one listener: nothing of the refused one
    expect((await h.call("DELETE", `/internal/sessions/${src.id}`)).status).toBe(204);
    await waitFor(() => h.node.sessions() === 0, 3000, "the listener to end with its source");
    await Promise.all([src.c.close(), l.close(), opusOnly.close()]);
  });
});
