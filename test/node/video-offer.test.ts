// An offer with audio + video (what OBS and most WHIP clients send): JSEP (RFC 8829 §5.3.1)
// wants one answer m-line per offered m-line, in order, all in the BUNDLE group. The node answers
// the video m-line `inactive`, discards whatever still arrives on it (this client sends some
// anyway: libdatachannel does not enforce direction), and records the audio as usual.
import { readFileSync, statSync } from "node:fs";
import nodeDataChannel from "node-datachannel";
import { parse } from "sdp-transform";
import { afterAll, beforeAll, expect, it } from "vitest";
import { encodedTone, toneRatio } from "../support/client-peer.js";
import { type Harness, startHarness } from "./harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** A raw node-datachannel offerer: sendonly Opus audio (a tone, paced every 20 ms) and a
 *  sendonly video track (VP8 + H264) beside it, as OBS offers. */
async function audioVideoClient(toneHz: number) {
  const pc = new nodeDataChannel.PeerConnection("av-client", { iceServers: [], bindAddress: "127.0.0.1" });
  let state = "new";
  pc.onStateChange((s) => {
    state = s;
  });
  const audio = new nodeDataChannel.Audio("0", "SendOnly");
  audio.addOpusCodec(111, "minptime=10;useinbandfec=1");
  audio.addSSRC(0xa0d10, "client-audio", "client", "audio");
  const audioTrack = pc.addTrack(audio);
  const video = new nodeDataChannel.Video("1", "SendOnly");
  // VP8 first and without a=fmtp, as Chromium offers it
  video.addVP8Codec(96);
  video.addH264Codec(97);
  video.addSSRC(0x5eed, "client-video", "client", "video");
  const videoTrack = pc.addTrack(video);
  pc.setLocalDescription();
  const deadline = Date.now() + 3000;
  while (pc.gatheringState() !== "complete" && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 5));
  // no candidates in the offer: see ClientPeer.create (libdatachannel offerer race)
  const offer = (pc.localDescription()?.sdp ?? "").replace(/^a=candidate:.*\r?\n/gm, "");
  const tone = encodedTone("opus", toneHz);
  let seq = 0;
  let timer: NodeJS.Timeout | undefined;
  let firstSentAt: number | undefined;
  // paced on elapsed time (a late timer catches up) so a busy machine does not starve the tone
  const startAudio = () => {
    const t0 = Date.now();
    timer = setInterval(() => {
      while (audioTrack.isOpen() && seq < Math.floor((Date.now() - t0) / 20) + 1) {
        const payload = tone[seq % tone.length]!;
        const rtp = Buffer.alloc(12 + payload.length);
        rtp[0] = 0x80;
        rtp[1] = 111;
        rtp.writeUInt16BE(seq & 0xffff, 2);
        rtp.writeUInt32BE((seq * 960) >>> 0, 4);
        rtp.writeUInt32BE(0xa0d10, 8);
        payload.copy(rtp, 12);
        if (!audioTrack.sendMessageBinary(rtp)) break;
        firstSentAt ??= Date.now();
        seq++;
      }
    }, 10);
  };
  const until = async (pred: () => boolean, ms: number, what: string) => {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what} (state ${state})`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const close = async () => {
    clearInterval(timer);
    for (const t of [audioTrack, videoTrack]) {
      try {
        t.close();
      } catch {}
    }
    pc.close();
    await until(() => audioTrack.isClosed() && videoTrack.isClosed(), 2000, "tracks closed").catch(() => {});
  };
  return {
    offer,
    pc,
    videoTrack,
    startAudio,
    until,
    close,
    get state() {
      return state;
    },
    get firstSentAt() {
      return firstSentAt;
    },
    get audioSent() {
      return seq;
    },
  };
}

function mlines(sdp: string) {
  const p = parse(sdp);
  return { types: p.media.map((m) => m.type), mids: p.media.map((m) => String(m.mid)), parsed: p };
}

it("answers audio + video with one m-line each, in order, connects and records the audio", {
  timeout: 20_000,
}, async () => {
  const c = await audioVideoClient(500);
  const { videoTrack, offer } = c;
  expect(mlines(offer).types).toEqual(["audio", "video"]);
  const r = await h.createSession(offer, { kind: "whip", profile: "record", recordRate: 16000 });
  expect(r.status).toBe(201);
  const answer: string = r.json.answer;
  const a = mlines(answer);
  expect(a.types).toEqual(["audio", "video"]);
  expect(a.mids).toEqual(mlines(offer).mids);
  // every answered mid is in the BUNDLE group (RFC 9143 §7.3)
  const bundle = a.parsed.groups?.find((g) => g.type === "BUNDLE")?.mids.split(" ") ?? [];
  expect(bundle).toEqual(a.mids);
  // we neither want nor send video: inactive (RFC 3264 §6.1), naming the offer's first codec
  expect(a.parsed.media[1]!.direction).toBe("inactive");
  expect(a.parsed.media[1]!.rtp.map((r) => `${r.payload} ${r.codec}`)).toEqual(["96 VP8"]);
  // no bare a=fmtp line (libdatachannel writes one for a codec without parameters)
  expect(answer).not.toMatch(/^a=fmtp:\d+ *\r?$/m);
  expect(a.parsed.media[0]!.direction).toBe("recvonly");

  c.pc.setRemoteDescription(answer, "answer");
  await c.until(() => c.state === "connected", 5000, "connected");
  c.startAudio();
  await c.until(() => c.firstSentAt !== undefined, 3000, "first packet");
  // a few bytes on the video track (not a real frame): they must not reach the audio decoder
  await c.until(() => videoTrack.isOpen(), 3000, "video track open");
  for (let i = 0; i < 20; i++) {
    const rtp = Buffer.alloc(40);
    rtp[0] = 0x80;
    rtp[1] = 96;
    rtp.writeUInt16BE(i, 2);
    rtp.writeUInt32BE(i * 3000, 4);
    rtp.writeUInt32BE(0x5eed, 8);
    videoTrack.sendMessageBinary(rtp);
  }
  await new Promise((res) => setTimeout(res, 1500));
  const status = await h.call("GET", `/internal/sessions/${r.sessionId}`);
  expect(status.json.state).toBe("connected");
  // the 20 video packets were not counted (nor decoded) as audio
  expect(status.json.stats.packetsIn).toBeGreaterThan(40);
  expect(status.json.stats.packetsIn).toBeLessThanOrEqual(c.audioSent);
  expect((await h.call("DELETE", `/internal/sessions/${r.sessionId}`)).status).toBe(204);

  const path = `${h.config.RECORDINGS_DIR}/${r.sessionId}.wav`;
  const buf = readFileSync(path);
  expect(buf.readUInt32LE(24)).toBe(16000);
  const samples = new Int16Array(buf.buffer.slice(buf.byteOffset + 44, buf.byteOffset + buf.length));
  expect((statSync(path).size - 44) / 32000).toBeGreaterThan(1);
  expect(toneRatio(samples.subarray(16000 * 0.3, 16000 * 1.0), 16000, 500)).toBeGreaterThan(0.8);
  await c.close();
});

it("still refuses an offer whose only media is video (422, no audio m-line)", async () => {
  const c = await audioVideoClient(500);
  const { offer } = c;
  // drop the audio m-line: the session description's head, then the video section alone
  const [head, ...sections] = offer.split(/(?=^m=)/m);
  const videoOnly =
    head!.replace(/^a=group:.*\r?\n/gm, "") + sections.filter((s) => s.startsWith("m=video")).join("");
  const r = await h.createSession(videoOnly, { kind: "whip", profile: "record" });
  expect(r.status).toBe(422);
  expect(r.json.reason).toMatch(/no audio m-line/);
  await c.close();
});
