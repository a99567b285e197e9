import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Decoder, Encoder } from "@evan/opus";
import { afterAll, describe, expect, it } from "vitest";
import { OggOpusWriter } from "../../../src/media/sinks/ogg-opus-writer.js";
import { ToneSource } from "../../../src/media/sources/tone.js";
import { readOggPages } from "./ogg.js";
import { zeroCrossingHz } from "./wav.js";

const dir = mkdtempSync(join(tmpdir(), "rtcgw-ogg-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** real Opus packets of a 440 Hz tone, 20 ms each */
function tonePackets(n: number, channels: 1 | 2 = 1): Uint8Array[] {
  const enc = new Encoder({ channels, sample_rate: 48000, application: "voip" });
  const tone = new ToneSource({ channels, frequency: 440 });
  return Array.from({ length: n }, () => Uint8Array.from(enc.encode(tone.nextFrame().samples)));
}

function probe(path: string) {
  const r = spawnSync("/usr/bin/python3", [join(__dirname, "../fixtures/probe-ogg.py"), path], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`PyAV probe failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as {
    format: string;
    codec: string;
    rate: number;
    channels: number;
    duration_s: number | null;
    packets: number;
    decoded_samples: number;
  };
}

/** deterministic loss pattern: 10 % random loss, a burst, and a 1.5 s outage */
function lossPattern(n: number): boolean[] {
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  return Array.from({ length: n }, (_, i) => (i >= 100 && i < 175) || (i >= 40 && i < 46) || rnd() < 0.1);
}

describe("Ogg Opus writer (RFC 7845)", () => {
  it("headers, page CRCs, granule positions incl. pre-skip, EOS; FFmpeg decodes it at the call's length", () => {
    const n = 400; // an 8 s call
    const packets = tonePackets(n);
    const lost = lossPattern(n);
    const path = join(dir, "call.ogg");
    const w = new OggOpusWriter(path, { channels: 1, preSkip: 312, serial: 0x1234 });
    for (let i = 0; i < n; i++) w.onPacket(lost[i] ? null : packets[i]!, i * 960);
    w.close();

    const pages = readOggPages(path);
    expect(pages.every((p) => p.crcOk)).toBe(true);
    expect(pages.every((p, i) => p.sequence === i && p.serial === 0x1234)).toBe(true);
    // §5.1 OpusHead alone on a BOS page, granule 0
    const head = Buffer.from(pages[0]!.packets[0]!);
    expect(pages[0]!.flags).toBe(0x02);
    expect(pages[0]!.packets).toHaveLength(1);
    expect(head.toString("ascii", 0, 8)).toBe("OpusHead");
    expect(head[8]).toBe(1);
    expect(head[9]).toBe(1);
    expect(head.readUInt16LE(10)).toBe(312);
    expect(head.readUInt32LE(12)).toBe(48000);
    // §5.2 OpusTags on its own page, granule 0
    expect(Buffer.from(pages[1]!.packets[0]!).toString("ascii", 0, 8)).toBe("OpusTags");
    expect(pages[1]!.granule).toBe(0n);
    // §4 each audio page's granule = 48 kHz samples of all packets completed so far
    const audio = pages.slice(2);
    let count = 0;
    for (const p of audio) {
      count += p.packets.length;
      expect(p.granule).toBe(BigInt(count * 960));
    }
    expect(count).toBe(n);
    expect(audio.at(-1)!.flags & 0x04).toBe(0x04); // EOS on the last page only
    expect(audio.slice(0, -1).every((p) => (p.flags & 0x04) === 0)).toBe(true);
    // lost slots are 1-byte TOC-only packets (code 0, zero-length frame); real ones are the originals
    const all = audio.flatMap((p) => p.packets);
    for (let i = 0; i < n; i++) {
      if (lost[i]) {
        expect(all[i]!.length).toBe(1);
        expect(all[i]![0]! & 0x03).toBe(0);
      } else expect(Buffer.from(all[i]!).equals(Buffer.from(packets[i]!))).toBe(true);
    }
    const st = w.stats();
    expect(st.lostPackets).toBe(lost.filter(Boolean).length);
    expect(st.durationMs).toBeCloseTo((n * 960 - 312) / 48, 6);

    // FFmpeg (libavformat's Ogg demuxer + libavcodec's Opus decoder, via PyAV) reads the same duration
    const pr = probe(path);
    expect(pr.format).toBe("ogg");
    expect(pr.codec).toBe("opus");
    expect(pr.packets).toBe(n);
    expect(Math.abs(pr.decoded_samples / 48000 - 8)).toBeLessThanOrEqual(0.02);

    // libopus (WASM) decodes every packet, the 1-byte lost frames included (as concealment), to
    // exactly the call's sample count, and the tone's frequency survives
    const dec = new Decoder({ channels: 1, sample_rate: 48000 });
    const pcm = all.map((pkt) => new Int16Array(Uint8Array.from(dec.decode(pkt)).buffer));
    expect(pcm.reduce((a, p) => a + p.length, 0)).toBe(n * 960);
    const clean = new Int16Array(pcm.slice(2, 38).flatMap((p) => [...p]));
    expect(zeroCrossingHz(clean, 48000)).toBeCloseTo(440, -1);
  });

  it("stereo, bigger packets and small pages: packets never split, lacing right at 255-byte multiples", () => {
    const path = join(dir, "stereo.ogg");
    const w = new OggOpusWriter(path, { channels: 2, packetsPerPage: 3 });
    const pkts = tonePackets(10, 2);
    // hand-made 20 ms CELT FB stereo packets whose sizes hit the lacing edge cases
    const odd = [255, 510, 254, 600].map((len) => {
      const p = new Uint8Array(len);
      p[0] = (31 << 3) | 0x04;
      return p;
    });
    for (const p of [...pkts, ...odd]) w.writePacket(p);
    w.writeLost();
    w.close();
    const pages = readOggPages(path);
    expect(pages.every((p) => p.crcOk)).toBe(true);
    const audio = pages.slice(2).flatMap((p) => p.packets);
    expect(audio.map((p) => p.length)).toEqual([...pkts.map((p) => p.length), 255, 510, 254, 600, 1]);
    expect(audio.at(-1)![0]).toBe((31 << 3) | 0x04); // lost frame keeps the stereo bit
    expect(pages.at(-1)!.granule).toBe(BigInt(15 * 960));
    const pr = probe(path);
    expect(pr.channels).toBe(2);
  });

  it("keeps each packet's bytes when the caller reuses its buffer, also across pages larger than the copy buffer", () => {
    const path = join(dir, "reused.ogg");
    const w = new OggOpusWriter(path, { channels: 1, packetsPerPage: 50 });
    // 60 packets of 700 bytes (42 KB on one page: more than the writer's first 16 KB copy
    // buffer), each written from the same caller buffer, overwritten before the next call
    const buf = new Uint8Array(700);
    const sent: number[][] = [];
    for (let i = 0; i < 60; i++) {
      buf.fill(i);
      buf[0] = (31 << 3) | 0x00; // CELT FB 20 ms, mono
      sent.push(Array.from(buf));
      w.onPacket(buf, i * 960);
    }
    w.close();
    const pages = readOggPages(path);
    expect(pages.every((p) => p.crcOk)).toBe(true);
    const audio = pages.slice(2).flatMap((p) => p.packets);
    expect(audio.map((p) => Array.from(p))).toEqual(sent);
    expect(pages.at(-1)!.granule).toBe(BigInt(60 * 960));
  });

  it("a copy taken mid-call (a crash) is a valid stream up to its last whole page", () => {
    const path = join(dir, "partial.ogg");
    const w = new OggOpusWriter(path, { channels: 1 });
    for (const p of tonePackets(160)) w.writePacket(p); // 3.2 s; pages of 50 packets
    const snap = join(dir, "partial-snapshot.ogg");
    writeFileSync(snap, readFileSync(path));
    w.close();
    const pages = readOggPages(snap);
    expect(pages.every((p) => p.crcOk)).toBe(true);
    expect(pages.at(-1)!.granule).toBe(BigInt(150 * 960));
    expect(probe(snap).packets).toBe(150);
  });
});
