// A caller that sends stereo Opus is recorded in stereo: hand-made stereo Opus RTP (libopus
// through @evan/opus, 2 channels: a different tone on each) through the record profile as the node
// assembles it (createProfile with the offer's fmtp), on a virtual clock; the files are read back
// and compared with what was sent — the WAV's channels and length, each channel's tone, and the
// Ogg decoded by opus-tools' opusdec and by FFmpeg (PyAV). The rule (docs/pipeline.md, "Stereo
// callers"): `sprop-stereo=1` in the offer (RFC 7587 §7.1) makes a stereo recording; any other
// caller is recorded as before.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Encoder } from "@evan/opus";
import { afterAll, describe, expect, it } from "vitest";
import { OpusEncoder } from "../../../src/audio/codecs/opus.js";
import { opusPacketSamples } from "../../../src/audio/codecs/opus-toc.js";
import { createLogger } from "../../../src/log/index.js";
import { createProfile, createRecordSession, type NegotiatedCodec } from "../../../src/media/index.js";
import type { MediaSession } from "../../../src/media/profiles/media-session.js";
import type { RecordRate } from "../../../src/media/profiles/record.js";
import { buildRtp } from "../../../src/media/rtp/packet.js";
import { goertzelAmplitude } from "../../audio/codecs/tone-analysis.js";
import { readOggPages } from "../sinks/ogg.js";
import { parseWav } from "../sinks/wav.js";

const dir = mkdtempSync(join(tmpdir(), "rtcgw-rec-stereo-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = createLogger({ level: "silent" });

const LEFT_HZ = 440;
const RIGHT_HZ = 1000;
const FRAMES = 150; // 3 s of 20 ms packets

/** `FRAMES` 20 ms packets from a 2-channel libopus encoder: LEFT_HZ left, RIGHT_HZ right (or the
 *  same mono tone from a 1-channel encoder) */
function packets(channels: 1 | 2): Uint8Array[] {
  const enc = new Encoder({ channels, sample_rate: 48000, application: "audio" });
  enc.bitrate = 64000;
  return tonePackets(channels, FRAMES, (pcm) => enc.encode(pcm));
}

/** `frames` 20 ms frames of LEFT_HZ (left, or mono) and RIGHT_HZ (right) at 48 kHz, each encoded */
function tonePackets(channels: 1 | 2, frames: number, encode: (pcm: Int16Array) => Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let k = 0; k < frames; k++) {
    const pcm = new Int16Array(960 * channels);
    for (let i = 0; i < 960; i++) {
      const t = (k * 960 + i) / 48000;
      pcm[i * channels] = Math.round(8000 * Math.sin(2 * Math.PI * LEFT_HZ * t));
      if (channels === 2) pcm[i * 2 + 1] = Math.round(8000 * Math.sin(2 * Math.PI * RIGHT_HZ * t));
    }
    out.push(Uint8Array.from(encode(pcm)));
  }
  return out;
}

/** RFC 6716 §3.1: the TOC byte's 's' bit — the packet codes stereo */
const tocStereo = (p: Uint8Array) => (p[0]! & 0x04) !== 0;

/** the packets through the node's record profile for an offer with `fmtp`, 20 ms apart on a
 *  virtual clock ticked every 5 ms, closed 1 s after the last */
async function record(
  name: string,
  fmtp: string | undefined,
  sent: Uint8Array[],
  rate: RecordRate,
  arrival?: (i: number) => number | null,
) {
  const codec: NegotiatedCodec = {
    name: "opus",
    payloadType: 111,
    clockRate: 48000,
    channels: 2,
    ...(fmtp ? { fmtp } : {}),
  };
  const rec = await createProfile("record", {
    sessionId: name,
    codec,
    receives: true,
    log,
    recordingsDir: dir,
    recordRate: rate,
  });
  feed(rec, sent, arrival);
  const files = rec.close(sent.length * 20 + 1000)!;
  return { wav: parseWav(files.wav!), ogg: files.ogg! };
}

/**
 * packet i sent at i × 20 ms, arriving then (or `arrival(i)`; null: lost), ticked every 5 ms
 * until 1 s after the last
 */
function feed(
  rec: Pick<MediaSession, "pushRtp" | "tick">,
  sent: Uint8Array[],
  arrival: (i: number) => number | null = (i) => i * 20,
) {
  const end = sent.length * 20 + 1000;
  const order = sent
    .map((payload, i) => ({ payload, i, at: arrival(i) }))
    .filter((p): p is { payload: Uint8Array; i: number; at: number } => p.at !== null)
    .sort((a, b) => a.at - b.at);
  let k = 0;
  for (let now = 0; now <= end; now += 5) {
    for (; k < order.length && order[k]!.at <= now; k++) {
      const { payload, i, at } = order[k]!;
      rec.pushRtp(
        buildRtp({ payloadType: 111, sequenceNumber: 100 + i, timestamp: 5000 + i * 960, ssrc: 9, payload }),
        at,
      );
    }
    rec.tick(now);
  }
}

/** one channel of interleaved PCM, from `fromS` to `toS` seconds */
function channel(
  samples: Int16Array,
  channels: number,
  ch: number,
  rate: number,
  fromS: number,
  toS: number,
) {
  const out = new Int16Array(Math.round((toS - fromS) * rate));
  const first = Math.round(fromS * rate);
  for (let i = 0; i < out.length; i++) out[i] = samples[(first + i) * channels + ch]!;
  return out;
}

/** each channel holds its own tone: amplitude at that tone ≥ 20× the other one's (26 dB) */
function expectTonesApart(samples: Int16Array, rate: number, seconds: number) {
  const left = channel(samples, 2, 0, rate, 0.5, seconds - 0.5);
  const right = channel(samples, 2, 1, rate, 0.5, seconds - 0.5);
  expect(goertzelAmplitude(left, rate, LEFT_HZ)).toBeGreaterThan(
    20 * goertzelAmplitude(left, rate, RIGHT_HZ),
  );
  expect(goertzelAmplitude(right, rate, RIGHT_HZ)).toBeGreaterThan(
    20 * goertzelAmplitude(right, rate, LEFT_HZ),
  );
  // and at the level sent (8000 peak: Goertzel's amplitude is the peak for a whole-length tone)
  expect(goertzelAmplitude(left, rate, LEFT_HZ)).toBeGreaterThan(6000);
  expect(goertzelAmplitude(right, rate, RIGHT_HZ)).toBeGreaterThan(6000);
}

/** the OpusHead's channel count (RFC 7845 §5.1: byte 9 of the first packet) */
function opusHeadChannels(path: string): number {
  const head = readOggPages(path)[0]!.packets[0]!;
  expect(Buffer.from(head.subarray(0, 8)).toString("ascii")).toBe("OpusHead");
  return head[9]!;
}

/** opus-tools' opusdec: the Ogg decoded to a WAV at 48 kHz, channels as its OpusHead says */
function opusdec(ogg: string) {
  const out = `${ogg}.opusdec.wav`;
  const r = spawnSync("opusdec", ["--quiet", "--rate", "48000", ogg, out], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`opusdec: ${r.stderr}`);
  return parseWav(out);
}

function ffmpeg(path: string): { channels: number; decoded_samples: number } {
  const r = spawnSync("/usr/bin/python3", [join(__dirname, "../fixtures/probe-ogg.py"), path], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

const stereo = packets(2);
const mono = packets(1);

describe("a stereo caller is recorded in stereo", () => {
  const sentMs = stereo.reduce((ms, p) => ms + opusPacketSamples(p)! / 48, 0);

  it("what the test sends is stereo Opus, 3 s", () => {
    expect(stereo.every(tocStereo)).toBe(true);
    expect(sentMs).toBe(3000);
  });

  for (const rate of [16000, 44100, 48000] as const) {
    it(`sprop-stereo=1 (GStreamer's offer): a 2-channel WAV at ${rate} Hz, left and right as sent, as long as sent`, async () => {
      const r = await record(`sprop_${rate}`, "sprop-stereo=1;sprop-maxcapturerate=48000", stereo, rate);
      expect(r.wav.channels).toBe(2);
      expect(r.wav.rate).toBe(rate);
      expect(r.wav.dataBytes / 4 / rate).toBe(sentMs / 1000);
      expectTonesApart(r.wav.samples, rate, sentMs / 1000);
    });
  }

  it("sprop-stereo=1: the Ogg says 2 channels and decodes (opusdec, FFmpeg) to left and right as sent", async () => {
    const r = await record("sprop_ogg", "minptime=10;useinbandfec=1;sprop-stereo=1", stereo, 16000);
    expect(opusHeadChannels(r.ogg)).toBe(2);
    // the packets are the ones sent, byte for byte
    const audio = readOggPages(r.ogg)
      .slice(2)
      .flatMap((p) => p.packets);
    expect(audio.map((p) => Buffer.from(p).toString("hex"))).toEqual(
      stereo.map((p) => Buffer.from(p).toString("hex")),
    );
    const dec = opusdec(r.ogg);
    expect(dec.channels).toBe(2);
    // opusdec trims the pre-skip (312) off the 3 s
    expect(Math.abs(dec.dataBytes / 4 / 48000 - (sentMs - 312 / 48) / 1000)).toBeLessThan(0.001);
    expectTonesApart(dec.samples, 48000, dec.dataBytes / 4 / 48000);
    const ff = ffmpeg(r.ogg);
    expect(ff.channels).toBe(2);
  });

  it("stereo=1;sprop-stereo=1 (libdatachannel's, OBS's default): stereo too", async () => {
    const r = await record(
      "both",
      "minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1",
      stereo,
      16000,
    );
    expect(r.wav.channels).toBe(2);
    expectTonesApart(r.wav.samples, 16000, 3);
    expect(opusHeadChannels(r.ogg)).toBe(2);
  });
});

describe("any other caller is recorded as before", () => {
  it("a mono caller (no sprop-stereo): a mono WAV, byte for byte what it was, OpusHead 1 channel", async () => {
    expect(mono.some(tocStereo)).toBe(false);
    const a = await record("mono_a", "minptime=10;useinbandfec=1", mono, 16000);
    expect(a.wav.channels).toBe(1);
    expect(a.wav.dataBytes / 2 / 16000).toBe(3);
    expect(opusHeadChannels(a.ogg)).toBe(1);
    // the same bytes as the record session the profile built before stereo callers were told
    // apart (the mono codec, the default channels), and for sprop-stereo=0 (GStreamer's mono offer)
    const before = await createRecordSession({
      sessionId: "mono_before",
      dir,
      codec: { codec: "opus", payloadType: 111, clockRate: 48000, channels: 1 },
      rate: 16000,
    });
    feed(before, mono);
    before.close(mono.length * 20 + 1000);
    const b = await record("mono_b", "sprop-stereo=0;sprop-maxcapturerate=48000", mono, 16000);
    expect(b.wav.channels).toBe(1);
    const wavOf = (id: string) => readFileSync(`${dir}/${id}.wav`);
    expect(wavOf("mono_a").equals(wavOf("mono_before"))).toBe(true);
    expect(wavOf("mono_b").equals(wavOf("mono_before"))).toBe(true);
  });

  it("stereo=1 alone (what the offerer prefers to receive, e.g. Firefox): recorded mono, WAV and OpusHead, even when its packets are stereo", async () => {
    // our answer does not say stereo=1 to it (opusAnswerFmtp), so a libwebrtc caller sends mono;
    // packets coded stereo all the same are decoded mono (libopus downmixes), as the WAV keeps
    // them, rather than decoded in stereo only to be downmixed
    expect(stereo.some(tocStereo)).toBe(true);
    const r = await record("stereo_only", "maxplaybackrate=48000;stereo=1;useinbandfec=1", stereo, 16000);
    expect(r.wav.channels).toBe(1);
    expect(opusHeadChannels(r.ogg)).toBe(1);
    expect(r.wav.dataBytes / 2 / 16000).toBe(3);
  });
});

// The WAV learned to end mid-frame (frame.fillerTail, SpanGate: a call whose last 10 ms packet ends
// inside a 20 ms frame). With 20 ms packets no frame ends in filler, so nothing may change: these
// are the SHA-256 of the WAVs the code before that change (1c71b79) recorded from the same
// packets — clean, and through loss (the last packet too), jitter and reordering. The packets
// come from the WASM libopus (the same bytes on every platform: their hash is pinned as well, so
// a mismatch there is the encoder's, not the recorder's).
describe("20 ms packets: the WAV byte for byte what it was before it could end mid-frame", () => {
  const wasmPackets = (channels: 1 | 2): Uint8Array[] => {
    const enc = new OpusEncoder({ channels, backend: "wasm", application: "audio", bitrate: 48000 });
    const out = tonePackets(channels, 100, (pcm) => enc.encode(pcm));
    enc.destroy();
    return out;
  };
  const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex").slice(0, 16);
  /** 5 lost (the last among them), every 7th 35 ms late (reordered behind the next one) */
  const impaired = (i: number) =>
    [13, 14, 40, 77, 99].includes(i) ? null : i * 20 + (i % 7 === 3 ? 35 : (i * 7) % 11);
  /** SHA-256 (first 16 hex digits) of the packets and of each WAV, as 1c71b79 recorded them */
  const PINNED: Record<1 | 2, Record<string, string>> = {
    1: {
      packets: "941ee8febe7316e5",
      "16000 clean": "3221fdc9cb9aecc0",
      "16000 impaired": "425c3c7385e60a1c",
      "44100 clean": "6671d9a28fbc4166",
      "44100 impaired": "e47bd9640dfafa8f",
      "48000 clean": "7f65c18ec88aafb8",
      "48000 impaired": "f9446bae1eae5e8e",
    },
    2: {
      packets: "9a2f42cdf6081d8f",
      "16000 clean": "06af57fd730640d8",
      "16000 impaired": "efe067a16cfb9e4a",
      "44100 clean": "ba1a26687d6990cc",
      "44100 impaired": "07c7825a56a4f694",
      "48000 clean": "01a3a2b25094b903",
      "48000 impaired": "24c6e1b2f2a6ec90",
    },
  };
  for (const [channels, fmtp] of [
    [1, "minptime=10;useinbandfec=1"],
    [2, "sprop-stereo=1"],
  ] as const) {
    it(`${channels === 1 ? "mono" : "stereo"}: clean and impaired, at 16, 44.1 and 48 kHz`, async () => {
      const sent = wasmPackets(channels);
      const got: Record<string, string> = { packets: sha(Buffer.concat(sent)) };
      expect(got.packets, "the WASM encoder's packets are not those the hashes were taken from").toBe(
        PINNED[channels].packets,
      );
      for (const rate of [16000, 44100, 48000] as const) {
        for (const [how, arrival] of [
          ["clean", undefined],
          ["impaired", impaired],
        ] as const) {
          const r = await record(`pinned_${channels}_${rate}_${how}`, fmtp, sent, rate, arrival);
          expect(r.wav.channels).toBe(channels);
          got[`${rate} ${how}`] = sha(readFileSync(`${dir}/pinned_${channels}_${rate}_${how}.wav`));
        }
      }
      expect(got).toEqual(PINNED[channels]);
    });
  }
});
