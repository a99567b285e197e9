// A resume posted while the session's peer still carries the call, whose new peer never connects
// (the client never applies the answer: it gave up, or its new path is blocked). The old peer
// carries the call until a new one connects (docs/node.md, "Resume"), so such a resume must not
// end the call: while it is pending the session is `connected` (status and record); at the
// connect timeout only the new peer is dropped (`resume_abandoned`, counted), the call goes on on
// its old peer and can still be resumed later; a recording has no gap. A second resume meanwhile
// replaces the first and has its own connect timeout. If the old peer is lost while the resume
// is pending, the session is interrupted and the pending resume gets the window (it connects
// after its connect timeout and the call goes on on it); an old peer that was only silent and
// sends again makes the session connected again, on it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SessionStatus } from "../../src/control/contract.js";
import { ClientPeer, type ClientPeerOptions, toneRatio } from "../support/client-peer.js";
import { longestSilence, readRecording } from "../support/recording-wav.js";
import { type Harness, startHarness, waitFor } from "./harness.js";

const CONNECT_S = 2;
const WINDOW_S = 4;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    RTCGW_CONNECT_TIMEOUT: String(CONNECT_S),
    RTCGW_RESUME_WINDOW: String(WINDOW_S),
  });
});
afterAll(async () => {
  await h?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function status(id: string): Promise<SessionStatus> {
  return (await h.call("GET", `/internal/sessions/${id}`)).json;
}

/** one sample of the node's /metrics: `name{…label…}` (0 when absent) */
async function metric(name: string, label = ""): Promise<number> {
  const text = await (await fetch(`${h.node.controlUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(label));
  return line ? Number(line.split(" ").pop()) : 0;
}
const abandoned = () => metric("rtcgw_session_resumes_total", 'outcome="abandoned"');
const ghosts = () => metric("rtcgw_ghost_sessions_total");

/** a connected session whose caller is sending; its record's ETag is "etag0000", as the signaling keeps it */
async function callerOn(opts: ClientPeerOptions, o: { kind: "whip" | "session"; profile: string }) {
  const c = await ClientPeer.create(opts);
  const r = await h.createSession(c.offer, {
    ...o,
    ...(o.profile === "record" ? { recordRate: 16000 } : {}),
    body: { etag: "etag0000" },
  });
  expect(r.status).toBe(201);
  c.accept(r.json.answer);
  await c.connected(5000);
  await c.until(() => c.firstSentAt !== undefined, 3000, "first packet sent");
  return { c, id: r.sessionId };
}

/** POST a resume (200) with a new peer whose answer is not applied yet; its ETag recorded as the
 *  signaling does */
async function postResume(id: string, opts: ClientPeerOptions, etag: string) {
  const c = await ClientPeer.create(opts);
  const r = await h.call("POST", `/internal/sessions/${id}/resume`, { offer: c.offer, etag });
  expect(r.status, r.text).toBe(200);
  const rec = (await h.registry.getSession(id))!;
  await h.registry.updateSession(id, rec.version, { etag });
  return { c, answer: r.json.answer as string, at: Date.now() };
}

describe("a resume whose new peer never connects", () => {
  it("echo: the call stays connected on its old peer, and at the connect timeout only the resume is dropped", {
    timeout: 20_000,
  }, async () => {
    const opts: ClientPeerOptions = { direction: "sendrecv", dataChannel: false, toneHz: 440 };
    const { c: c1, id } = await callerOn(opts, { kind: "session", profile: "echo" });
    await c1.until(() => c1.stats.packetsReceived >= 25, 5000, "the echo");
    const [abandonedBefore, ghostsBefore] = [await abandoned(), await ghosts()];
    const pending = await postResume(id, opts, "resumed01");

    // pending: the old peer carries the call, and the session says so
    await sleep(800);
    let st = await status(id);
    expect(st.state).toBe("connected");
    expect(st.interruptedBy).toBeUndefined();
    expect(st.resumes).toBeUndefined();
    expect((await h.registry.getSession(id))?.state).toBe("connected");
    let heard = c1.stats.packetsReceived;
    await c1.until(() => c1.stats.packetsReceived > heard + 20, 2000, "the echo on the old peer");

    // the connect timeout: the resume is dropped, not the call
    await waitFor(
      async () => (await abandoned()) === abandonedBefore + 1,
      CONNECT_S * 1000 + 2000,
      "abandoned",
    );
    expect(Date.now() - pending.at).toBeGreaterThanOrEqual(CONNECT_S * 1000 - 100);
    await sleep(300);
    st = await status(id);
    expect(st.state).toBe("connected");
    expect(st.interruptedAt).toBeUndefined();
    expect(h.node.sessions()).toBe(1);
    expect(await h.registry.getSession(id)).toMatchObject({ state: "connected", etag: "etag0000" });
    expect(await ghosts()).toBe(ghostsBefore);
    expect(await metric("rtcgw_session_teardowns_total")).toBe(0);
    heard = c1.stats.packetsReceived;
    await c1.until(() => c1.stats.packetsReceived > heard + 25, 2000, "the echo after the abandoned resume");
    const { rate, samples } = c1.receivedPcm();
    expect(toneRatio(samples.subarray(samples.length - rate / 2), rate, 440)).toBeGreaterThan(0.8);

    // the call can still move: a resume that connects continues it (the abandoned one not counted)
    const c3 = await ClientPeer.create(opts);
    const r3 = await h.call("POST", `/internal/sessions/${id}/resume`, {
      offer: c3.offer,
      etag: "resumed02",
    });
    expect(r3.status).toBe(200);
    c3.accept(r3.json.answer);
    await c3.connected(5000);
    await c3.until(() => c3.stats.packetsReceived >= 25, 5000, "the echo on the next new peer");
    expect(await status(id)).toMatchObject({ state: "connected", resumes: 1 });
    expect((await h.call("DELETE", `/internal/sessions/${id}`)).status).toBe(204);
    await Promise.all([c1.close(), pending.c.close(), c3.close()]);
  });

  it("record: the recording goes on without a gap across the abandoned resume", {
    timeout: 20_000,
  }, async () => {
    const opts: ClientPeerOptions = { direction: "sendonly", dataChannel: false, toneHz: 500 };
    const { c: c1, id } = await callerOn(opts, { kind: "whip", profile: "record" });
    const before = await abandoned();
    await sleep(400);
    const pending = await postResume(id, opts, "resumed01");
    await waitFor(async () => (await abandoned()) === before + 1, CONNECT_S * 1000 + 2000, "abandoned");
    await sleep(500);
    c1.stopSending();
    const callMs = c1.lastSentAt! + 20 - c1.firstSentAt!;
    expect((await h.call("DELETE", `/internal/sessions/${id}`)).status).toBe(204);

    const wav = readRecording(h.config.RECORDINGS_DIR, id);
    expect(Math.abs(wav.ms - callMs), `WAV ${wav.ms} ms, call ${callMs} ms`).toBeLessThanOrEqual(40);
    const [from, to] = longestSilence(wav.samples, wav.rate);
    expect(to - from, `silence ${from}–${to} ms`).toBeLessThan(60);
    expect(toneRatio(wav.samples.subarray(wav.rate / 5), wav.rate, 500)).toBeGreaterThan(0.8);
    await Promise.all([c1.close(), pending.c.close()]);
  });

  it("a second resume meanwhile replaces the first and has its own connect timeout", {
    timeout: 20_000,
  }, async () => {
    const opts: ClientPeerOptions = { direction: "sendrecv", dataChannel: false, toneHz: 440 };
    const { c: c1, id } = await callerOn(opts, { kind: "session", profile: "echo" });
    const [abandonedBefore, supersededBefore] = [
      await abandoned(),
      await metric("rtcgw_session_resumes_total", 'outcome="superseded"'),
    ];
    const first = await postResume(id, opts, "resumed01");
    await sleep(1200);
    const second = await postResume(id, opts, "resumed02");
    expect(await metric("rtcgw_session_resumes_total", 'outcome="superseded"')).toBe(supersededBefore + 1);
    // past the first one's timeout, before the second's: nothing dropped yet, the call connected
    await sleep(first.at + CONNECT_S * 1000 + 400 - Date.now());
    expect(await abandoned()).toBe(abandonedBefore);
    expect((await status(id)).state).toBe("connected");
    await waitFor(async () => (await abandoned()) === abandonedBefore + 1, CONNECT_S * 1000, "abandoned");
    expect(Date.now() - second.at).toBeGreaterThanOrEqual(CONNECT_S * 1000 - 100);
    expect(await status(id)).toMatchObject({ state: "connected" });
    const heard = c1.stats.packetsReceived;
    await c1.until(() => c1.stats.packetsReceived > heard + 25, 2000, "the echo on the old peer");
    expect((await h.call("DELETE", `/internal/sessions/${id}`)).status).toBe(204);
    await Promise.all([c1.close(), first.c.close(), second.c.close()]);
  });

  it("its old peer lost meanwhile: the session is interrupted, and the pending resume gets the window", {
    timeout: 20_000,
  }, async () => {
    const opts: ClientPeerOptions = { direction: "sendonly", dataChannel: false, toneHz: 500 };
    const { c: c1, id } = await callerOn(opts, { kind: "whip", profile: "record" });
    const [abandonedBefore, resumedBefore] = [
      await abandoned(),
      await metric("rtcgw_session_resumes_total", 'outcome="resumed"'),
    ];
    const pending = await postResume(id, opts, "resumed01");
    c1.stopSending(); // the old path dies after the resume was posted
    await waitFor(async () => (await status(id)).state === "interrupted", 4000, "interrupted");
    const st = await status(id);
    expect(st.interruptedBy).toBe("silent");
    expect(st.resumeBy).toBe(st.interruptedAt! + WINDOW_S * 1000);
    await waitFor(async () => (await h.registry.getSession(id))?.state === "disconnected", 2000, "record");
    // the new peer connects after its connect timeout, inside the window: the call goes on on it
    await sleep(pending.at + CONNECT_S * 1000 + 300 - Date.now());
    expect((await status(id)).state).toBe("interrupted");
    pending.c.accept(pending.answer);
    await pending.c.connected(5000);
    await waitFor(async () => (await status(id)).state === "connected", 3000, "connected on the new peer");
    expect(await status(id)).toMatchObject({ resumes: 1 });
    expect(await metric("rtcgw_session_resumes_total", 'outcome="resumed"')).toBe(resumedBefore + 1);
    expect(await abandoned()).toBe(abandonedBefore);
    await waitFor(async () => (await h.registry.getSession(id))?.state === "connected", 2000, "record");
    expect((await h.call("DELETE", `/internal/sessions/${id}`)).status).toBe(204);
    await Promise.all([c1.close(), pending.c.close()]);
  });

  it("its old peer only silent meanwhile: sending again, it carries the call again; the resume is then dropped", {
    timeout: 20_000,
  }, async () => {
    const opts: ClientPeerOptions = { direction: "sendonly", dataChannel: false, toneHz: 500 };
    const { c: c1, id } = await callerOn(opts, { kind: "whip", profile: "record" });
    const [abandonedBefore, recoveredBefore] = [
      await abandoned(),
      await metric("rtcgw_session_recoveries_total", 'cause="silent"'),
    ];
    const pending = await postResume(id, opts, "resumed01");
    c1.stopSending();
    await waitFor(async () => (await status(id)).state === "interrupted", 4000, "interrupted");
    expect((await status(id)).interruptedBy).toBe("silent");
    c1.startSending();
    await waitFor(async () => (await status(id)).state === "connected", 2000, "connected again");
    expect(await metric("rtcgw_session_recoveries_total", 'cause="silent"')).toBe(recoveredBefore + 1);
    await waitFor(async () => (await h.registry.getSession(id))?.state === "connected", 2000, "record");
    await waitFor(
      async () => (await abandoned()) === abandonedBefore + 1,
      CONNECT_S * 1000 + 2000,
      "abandoned",
    );
    const st = await status(id);
    expect(st.state).toBe("connected");
    expect(st.resumes).toBeUndefined();
    const packetsIn = st.stats.packetsIn;
    await waitFor(async () => (await status(id)).stats.packetsIn > packetsIn + 20, 2000, "its packets");
    expect((await h.call("DELETE", `/internal/sessions/${id}`)).status).toBe(204);
    await Promise.all([c1.close(), pending.c.close()]);
  });
});
