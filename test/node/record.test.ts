// A WHIP record session through the real pipeline: the WAV's length is the call's length, even
// across a 600 ms outage in the middle (filled at its true position, never collapsed).
import { readFileSync, statSync } from "node:fs";
import nodeDataChannel from "node-datachannel";
import { parse } from "sdp-transform";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ClientPeer, toneRatio } from "../support/client-peer.js";
import { type Harness, startHarness } from "./harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

function readWav(path: string) {
  const buf = readFileSync(path);
  const rate = buf.readUInt32LE(24);
  const channels = buf.readUInt16LE(22);
  // the data chunk follows the 44-byte canonical header
  const samples = new Int16Array(buf.buffer.slice(buf.byteOffset + 44, buf.byteOffset + buf.length));
  return { rate, channels, samples, seconds: (statSync(path).size - 44) / (rate * channels * 2) };
}

it("records a WAV as long as the call, with an outage kept at its true position", {
  timeout: 20_000,
}, async () => {
  const c = await ClientPeer.create({ direction: "sendonly", dataChannel: false, toneHz: 500 });
  const r = await h.createSession(c.offer, { kind: "whip", profile: "record", recordRate: 16000 });
  expect(r.status).toBe(201);
  c.accept(r.json.answer);
  await c.connected(5000);
  await c.until(() => c.firstSentAt !== undefined, 3000, "first packet");
  await new Promise((res) => setTimeout(res, 1000));
  c.stopSending();
  await new Promise((res) => setTimeout(res, 600));
  c.startSending();
  await new Promise((res) => setTimeout(res, 1000));
  const status = await h.call("GET", `/internal/sessions/${r.sessionId}`);
  expect(status.json.stats.silenceFilledMs + status.json.stats.concealedMs).toBeGreaterThan(400);
  const end = Date.now();
  expect((await h.call("DELETE", `/internal/sessions/${r.sessionId}`)).status).toBe(204);
  const expected = (end - c.firstSentAt!) / 1000;

  const wav = readWav(`${h.config.RECORDINGS_DIR}/${r.sessionId}.wav`);
  expect(wav.rate).toBe(16000);
  expect(wav.channels).toBe(1);
  expect(Math.abs(wav.seconds - expected)).toBeLessThan(0.15);
  // the tone is there before and after the outage, silence (or concealment fading out) inside it
  const s = (t0: number, t1: number) => wav.samples.subarray(Math.round(t0 * 16000), Math.round(t1 * 16000));
  expect(toneRatio(s(0.3, 0.9), 16000, 500)).toBeGreaterThan(0.8);
  expect(toneRatio(s(wav.seconds - 0.7, wav.seconds - 0.2), 16000, 500)).toBeGreaterThan(0.8);
  const gap = s(1.25, 1.45);
  const rms = Math.sqrt(gap.reduce((a, x) => a + x * x, 0) / gap.length);
  expect(rms).toBeLessThan(500);
  await c.close();
});

/** a sendonly Opus offer (node-datachannel) with this fmtp, candidates left out (not connected) */
async function offerWithFmtp(fmtp: string): Promise<{ sdp: string; close(): void }> {
  const pc = new nodeDataChannel.PeerConnection("fmtp-client", { iceServers: [], bindAddress: "127.0.0.1" });
  const audio = new nodeDataChannel.Audio("0", "SendOnly");
  audio.addOpusCodec(111, fmtp);
  audio.addSSRC(0x51e7e0, "client-audio", "client", "audio");
  pc.addTrack(audio);
  pc.setLocalDescription();
  const deadline = Date.now() + 3000;
  while (pc.gatheringState() !== "complete" && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 5));
  const sdp = (pc.localDescription()?.sdp ?? "").replace(/^a=candidate:.*\r?\n/gm, "");
  return { sdp, close: () => pc.close() };
}

/** the Opus fmtp of an answer, as a set of its parameters */
function answerOpusFmtp(answer: string): Set<string> {
  const m = parse(answer).media.find((x) => x.type === "audio")!;
  const pt = m.rtp.find((r) => r.codec.toLowerCase() === "opus")!.payload;
  return new Set((m.fmtp.find((f) => f.payload === pt)?.config ?? "").split(";").map((p) => p.trim()));
}

it("answers its own Opus fmtp: stereo=1 only to a caller recorded in stereo (sprop-stereo=1), never the offer's echoed", {
  timeout: 20_000,
}, async () => {
  // RFC 7587 §7.1: sprop-stereo=1 — the caller sends stereo (GStreamer's stereo offer says only
  // this); our stereo=1 says we take it (a libwebrtc sender sends mono without it). Every other
  // parameter of the answer is ours: the offer's stereo=1 (Firefox: what *it* prefers to
  // receive) and sprop-stereo=1 (what *it* sends) are not echoed back as if they were ours.
  const ours = ["minptime=10", "useinbandfec=1"];
  const cases: { fmtp: string; profile: string; kind: "whip" | "session"; stereo: boolean }[] = [
    { fmtp: "sprop-stereo=1;sprop-maxcapturerate=48000", profile: "record", kind: "whip", stereo: true },
    { fmtp: "minptime=10;stereo=0;sprop-stereo=1", profile: "record", kind: "whip", stereo: true },
    { fmtp: "minptime=10;useinbandfec=1", profile: "record", kind: "whip", stereo: false },
    { fmtp: "sprop-stereo=0;sprop-maxcapturerate=48000", profile: "record", kind: "whip", stereo: false },
    // Firefox's offer: stereo=1 is its own preference, not a stereo caller
    { fmtp: "maxplaybackrate=48000;stereo=1;useinbandfec=1", profile: "record", kind: "whip", stereo: false },
    {
      fmtp: "maxplaybackrate=48000;stereo=1;useinbandfec=1",
      profile: "echo",
      kind: "session",
      stereo: false,
    },
    // a stereo caller of a profile that sends mono: no sprop-stereo=1 (nor stereo=1) in our answer
    { fmtp: "sprop-stereo=1;sprop-maxcapturerate=48000", profile: "echo", kind: "session", stereo: false },
  ];
  for (const c of cases) {
    const offer = await offerWithFmtp(c.fmtp);
    const r = await h.createSession(offer.sdp, { kind: c.kind, profile: c.profile });
    expect(r.status, `${c.profile} ${c.fmtp}`).toBe(201);
    const fmtp = answerOpusFmtp(r.json.answer);
    expect(fmtp, `${c.profile} ${c.fmtp}`).toEqual(new Set(c.stereo ? [...ours, "stereo=1"] : ours));
    expect((await h.call("DELETE", `/internal/sessions/${r.sessionId}`)).status).toBe(204);
    offer.close();
  }
});
