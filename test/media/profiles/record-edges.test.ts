// Recordings against what the client sent, packet by packet: hand-made Opus RTP (each packet's
// timestamp, duration and arrival chosen here) through a real record session on a virtual clock,
// then the files read back — the WAV's length and the Ogg's granules and packets compared with the
// packets sent, never with the receiver's own idea of the timeline. The edge cases an audit
// measured (README, "Recordings, edge cases an audit measured"; docs/timeline.md).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { G711Encoder } from "../../../src/audio/codecs/g711-codec.js";
import { OpusEncoder } from "../../../src/audio/codecs/opus.js";
import { opusPacketSamples } from "../../../src/audio/codecs/opus-toc.js";
import type { CodecSpec } from "../../../src/audio/codecs/types.js";
import { createRecordSession } from "../../../src/media/index.js";
import type { RecordRate } from "../../../src/media/profiles/record.js";
import { buildRtp } from "../../../src/media/rtp/packet.js";
import { readOggPages } from "../sinks/ogg.js";
import { parseWav } from "../sinks/wav.js";

const dir = mkdtempSync(join(tmpdir(), "rtcgw-rec-edges-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const OPUS: CodecSpec = { codec: "opus", payloadType: 111, clockRate: 48000, channels: 1 };
const PRE_SKIP = 312;

interface Sent {
  ssrc: number;
  seq: number;
  /** RTP timestamp (48 kHz) */
  ts: number;
  payload: Uint8Array;
  /** arrival on the receiver's clock (ms) */
  at: number;
}

/**
 * `count` packets of `frameMs` each (a 440 Hz tone), from one source: sequence numbers and
 * timestamps in order from seq0/ts0, the first sent at `sentMs`; each arrives when it is sent
 * unless `arrival` says otherwise.
 */
function source(o: {
  ssrc: number;
  seq0: number;
  ts0: number;
  sentMs: number;
  count: number;
  frameMs: 10 | 20;
  arrival?: (k: number, sentMs: number) => number;
}): Sent[] {
  const n = o.frameMs * 48;
  const enc = new OpusEncoder({ frameSize: n });
  const out: Sent[] = [];
  for (let k = 0; k < o.count; k++) {
    const pcm = new Int16Array(n);
    for (let i = 0; i < n; i++)
      pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (k * n + i)) / 48000));
    const sent = o.sentMs + k * o.frameMs;
    out.push({
      ssrc: o.ssrc,
      seq: (o.seq0 + k) & 0xffff,
      ts: (o.ts0 + k * n) >>> 0,
      payload: enc.encode(pcm),
      at: o.arrival?.(k, sent) ?? sent,
    });
  }
  enc.destroy();
  return out;
}

/** the same for PCMU: `count` packets of `frameMs` (8 kHz: 8 bytes a millisecond) */
function pcmuSource(o: { ssrc: number; seq0: number; ts0: number; count: number; frameMs: 10 | 20 }): Sent[] {
  const n = o.frameMs * 8;
  const enc = new G711Encoder("pcmu");
  const out: Sent[] = [];
  for (let k = 0; k < o.count; k++) {
    const pcm = new Int16Array(n);
    for (let i = 0; i < n; i++)
      pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (k * n + i)) / 8000));
    out.push({
      ssrc: o.ssrc,
      seq: (o.seq0 + k) & 0xffff,
      ts: (o.ts0 + k * n) >>> 0,
      payload: enc.encode(pcm),
      at: k * o.frameMs,
    });
  }
  return out;
}

const PCMU: CodecSpec = { codec: "pcmu", payloadType: 111, clockRate: 8000, channels: 1 };

/** ms of audio in `packets` by their own TOC durations (what the client sent, packet by packet) */
function sentMs(packets: Sent[]): number {
  return packets.reduce((ms, p) => ms + opusPacketSamples(p.payload)! / 48, 0);
}

/** the packets through a record session (ticked every 5 ms, closed at the last arrival + 1 s) */
async function record(name: string, packets: Sent[], codec: CodecSpec = OPUS, rate: RecordRate = 48000) {
  const rec = await createRecordSession({ sessionId: name, dir, codec, rate, startMs: 0 });
  const order = [...packets].sort((a, b) => a.at - b.at);
  const end = order.at(-1)!.at + 1000;
  let i = 0;
  for (let now = 0; now <= end; now += 5) {
    for (; i < order.length && order[i]!.at <= now; i++) {
      const p = order[i]!;
      rec.pushRtp(
        buildRtp({
          payloadType: 111,
          sequenceNumber: p.seq,
          timestamp: p.ts,
          ssrc: p.ssrc,
          payload: p.payload,
        }),
        p.at,
      );
    }
    rec.tick(now);
  }
  const files = rec.close(end);
  const wav = parseWav(files.wav!);
  const pages = files.ogg ? readOggPages(files.ogg) : [];
  const audio = pages.slice(2).flatMap((p) => p.packets);
  return {
    wav,
    wavMs: Math.round((wav.dataBytes / 2 / wav.channels / wav.rate) * 1e6) / 1000,
    /** the WAV's samples per channel */
    wavSamples: wav.dataBytes / 2 / wav.channels,
    pages,
    /** the Ogg's audio packets, headers left out */
    audio,
    /** the packets' samples by the last granule (RFC 7845 §4; it counts the pre-skip too: the
     *  sender's encoder delay is in its packets, a player trims it) */
    oggMs: pages.length > 2 ? Number(pages.at(-1)!.granule) / 48 : 0,
    /** the same, summed over the packets' own TOC durations */
    oggPacketsMs: audio.reduce((ms, p) => ms + (opusPacketSamples(p) ?? 0) / 48, 0),
    counters: rec.inbound.counters(),
    path: files.ogg!,
    samples: wav.samples,
  };
}

function ffmpeg(path: string): { decoded_samples: number; channels: number } {
  const r = spawnSync("/usr/bin/python3", [join(__dirname, "../fixtures/probe-ogg.py"), path], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

describe("recordings match what the client sent", () => {
  it("10 ms packets: a lost packet sharing its 20 ms slot with a received one gets a 10 ms lost frame in the Ogg", async () => {
    // 300 packets of 10 ms = 3000 ms sent; #101 (second half of slot 50) and #150 (first half of
    // slot 75) never arrive — each shares its slot with a packet that does
    const all = source({ ssrc: 7, seq0: 1000, ts0: 90_000, sentMs: 0, count: 300, frameMs: 10 });
    const lost = new Set([101, 150]);
    const r = await record(
      "ten_ms_half_slot_loss",
      all.filter((_, k) => !lost.has(k)),
    );
    expect(sentMs(all)).toBe(3000);
    expect(r.wavMs).toBe(3000);
    expect(r.oggMs).toBe(3000);
    expect(r.oggPacketsMs).toBe(3000);
    // each lost packet stands in the Ogg as one 1-byte lost frame of its own 10 ms, in its place
    expect(r.audio).toHaveLength(300);
    for (const k of lost) {
      expect(r.audio[k]!.length, `packet ${k}`).toBe(1);
      expect(opusPacketSamples(r.audio[k]!), `packet ${k}`).toBe(480);
    }
    const received = r.audio.filter((_, k) => !lost.has(k));
    expect(received.map((p) => Buffer.from(p).toString("hex"))).toEqual(
      all.filter((_, k) => !lost.has(k)).map((p) => Buffer.from(p.payload).toString("hex")),
    );
    expect(ffmpeg(r.path).decoded_samples + PRE_SKIP).toBe(3000 * 48);
  });

  // The WAV is made of the timeline's 20 ms frames; a call whose last 10 ms packet ends mid-frame
  // got the rest of that frame as filler (10 ms of concealment of a packet never sent): 3020 ms
  // for 3010 sent, the Ogg exact. The WAV ends where the last packet's audio ends now, to the
  // sample at the record rate (a resampled rate: round(samples × out / in), the resampler's rule).
  for (const rate of [48000, 16000, 44100] as const) {
    it(`an odd number of 10 ms packets (Opus, WAV at ${rate} Hz): the WAV ends where the last packet's audio ends`, async () => {
      const all = source({ ssrc: 3, seq0: 40, ts0: 777, sentMs: 0, count: 301, frameMs: 10 });
      const r = await record(`ten_ms_odd_${rate}`, all, OPUS, rate);
      expect(sentMs(all)).toBe(3010);
      expect(r.counters).toMatchObject({ lost: 0, late: 0 });
      expect(r.wavSamples).toBe((3010 * rate) / 1000);
      expect(r.oggMs).toBe(3010);
      // and the end is the tone sent, not cut short: its last 5 ms at the tone's level (RMS of an
      // 8000-peak sine ≈ 5657)
      const last = r.samples.subarray(r.samples.length - (5 * rate) / 1000);
      expect(Math.sqrt(last.reduce((e, v) => e + v * v, 0) / last.length)).toBeGreaterThan(4000);
    });
  }

  it("10 ms packets, the last one lost: the WAV and the Ogg end where the last received packet's audio ends", async () => {
    const all = source({ ssrc: 4, seq0: 65_500, ts0: 4_294_000_000, sentMs: 0, count: 300, frameMs: 10 });
    const r = await record("ten_ms_last_lost", all.slice(0, -1));
    expect(sentMs(all.slice(0, -1))).toBe(2990);
    expect(r.wavMs).toBe(2990);
    expect(r.oggMs).toBe(2990);
  });

  for (const rate of [8000, 48000] as const) {
    it(`an odd number of 10 ms PCMU packets (WAV at ${rate} Hz): the WAV ends where the last packet's audio ends`, async () => {
      const all = pcmuSource({ ssrc: 5, seq0: 1, ts0: 160_000, count: 151, frameMs: 10 });
      const r = await record(`pcmu_ten_ms_odd_${rate}`, all, PCMU, rate);
      expect(r.counters).toMatchObject({ lost: 0, late: 0 });
      expect(r.wavSamples).toBe((1510 * rate) / 1000);
    });
  }

  for (const startMs of [0, 55]) {
    it(`10 ms packets, the first two swapped on the way (sent from ${startMs} ms): the recording is as long as what was sent`, async () => {
      // #1 arrives when it is sent, #0 (sent 10 ms before it) 3 ms after it; the track opened at
      // 0 ms (startMs), before the first packet
      const all = source({
        ssrc: 9,
        seq0: 500,
        ts0: 123_456,
        sentMs: startMs,
        count: 300,
        frameMs: 10,
        arrival: (k, sent) => (k === 0 ? sent + 13 : sent),
      });
      const r = await record(`ten_ms_first_two_swapped_${startMs}`, all);
      expect(sentMs(all)).toBe(3000);
      expect(r.counters).toMatchObject({ lost: 0, late: 0, reordered: 1 });
      expect(r.wavMs).toBe(3000);
      expect(r.oggMs).toBe(3000);
      expect(r.audio.map((p) => Buffer.from(p).toString("hex"))).toEqual(
        all.map((p) => Buffer.from(p.payload).toString("hex")),
      );
    });
  }

  it("a sender whose timestamp steps back by less than a packet: what overlaps is late, the WAV and the Ogg stay one length", async () => {
    // 1 s, then the same sender's clock 55 ms back: its next packets cover the end of the last ones
    const before = source({ ssrc: 7, seq0: 100, ts0: 0, sentMs: 0, count: 50, frameMs: 20 });
    const after = source({ ssrc: 7, seq0: 150, ts0: 50 * 960 - 2640, sentMs: 1000, count: 50, frameMs: 20 });
    const r = await record("ts_step_back", [...before, ...after]);
    expect(r.counters).toMatchObject({ reanchors: 0, duplicate: 0 });
    expect(r.counters.late).toBeGreaterThanOrEqual(1);
    expect(r.wavMs).toBe(2000 - 55); // the step is absorbed: the timeline is the sender's clock
    expect(r.oggMs).toBe(r.wavMs); // every packet in the Ogg played whole in the WAV
  });

  it("a packet that starts before the playhead and ends after it is late: the WAV does not get its tail while the Ogg gets all of it", async () => {
    // a 10 ms step forward puts the packets mid-slot; 100 ms of them held and flushed at once
    const before = source({ ssrc: 7, seq0: 100, ts0: 0, sentMs: 0, count: 50, frameMs: 20 });
    const after = source({
      ssrc: 7,
      seq0: 150,
      ts0: 50 * 960 + 480,
      sentMs: 1000,
      count: 50,
      frameMs: 20,
      arrival: (k, sent) => (k >= 10 && k < 15 ? 1300 + k * 0.01 : sent),
    });
    const r = await record("straddle", [...before, ...after]);
    expect(r.counters.reanchors).toBe(0);
    expect(r.counters.late).toBeGreaterThanOrEqual(1);
    expect(r.wavMs).toBe(2010);
    expect(r.oggMs).toBe(r.wavMs);
  });

  it("a call that sent no RTP: the Ogg is its two header pages, the stream ends on the second (no empty page with granule 0)", async () => {
    const rec = await createRecordSession({ sessionId: "no_rtp", dir, codec: OPUS, startMs: 0 });
    for (let now = 0; now <= 3000; now += 20) rec.tick(now);
    const files = rec.close(3000);
    expect(parseWav(files.wav!).dataBytes).toBe(0);
    const pages = readOggPages(files.ogg!);
    expect(pages.every((p) => p.crcOk)).toBe(true);
    // RFC 7845 §3/§4: OpusHead alone on the BOS page, OpusTags on the next, both granule 0; a
    // page that completes no packet would need granule -1 (RFC 3533 §6) — there is none
    expect(pages.map((p) => [p.sequence, p.flags, p.granule, p.packets.length])).toEqual([
      [0, 0x02, 0n, 1],
      [1, 0x04, 0n, 1],
    ]);
    expect(Buffer.from(pages[1]!.packets[0]!).toString("ascii", 0, 8)).toBe("OpusTags");
    // Xiph's Ogg validator (Debian's oggz-tools) agrees: it refused the old ending ("eos marked
    // on page with no completed packets", "granulepos 0 … must be -1")
    const v = spawnSync("oggz-validate", [files.ogg!], { encoding: "utf8" });
    expect(v.error, "oggz-validate missing: bash scripts/install-system-deps.sh").toBeUndefined();
    expect(v.stdout + v.stderr).not.toMatch(/error/i);
    expect(v.status).toBe(0);
  });

  // An SSRC change whose first packet lands on the slot the old SSRC's last packet holds (a resume
  // whose new path is shorter: the old packets took 8–15 ms, the new ones 0). 20 ms packets: right
  // before and after 4ec8b6a in this form (the track opened at the true start). 10 ms packets
  // whose old source ends mid-slot: 3990 ms for 4000 sent before 4ec8b6a, 4020 after it (the new
  // source went to the next free slot: 10 ms of filler between, and its end mid-slot).
  const changes = [
    { frameMs: 20, oldCount: 100, oldDelayMs: 15, newSentMs: 2000, newCount: 100 },
    { frameMs: 10, oldCount: 199, oldDelayMs: 8, newSentMs: 1990, newCount: 201 },
  ] as const;
  for (const c of changes) {
    it(`SSRC change onto the old source's last slot, ${c.frameMs} ms packets: nothing dropped, nothing added`, async () => {
      const old = source({
        ssrc: 1,
        seq0: 100,
        ts0: 5000,
        sentMs: 0,
        count: c.oldCount,
        frameMs: c.frameMs,
        arrival: (_, t) => t + c.oldDelayMs,
      });
      const fresh = source({
        ssrc: 2,
        seq0: 61_000,
        ts0: 4_000_000_000,
        sentMs: c.newSentMs,
        count: c.newCount,
        frameMs: c.frameMs,
      });
      const all = [...old, ...fresh];
      const r = await record(`ssrc_change_on_last_slot_${c.frameMs}`, all);
      expect(sentMs(all)).toBe(4000);
      expect(r.counters).toMatchObject({ ssrcChanges: 1, lost: 0, late: 0, staleSsrc: 0 });
      expect(r.wavMs).toBe(4000);
      expect(r.oggMs).toBe(4000);
      expect(r.audio.map((p) => Buffer.from(p).toString("hex"))).toEqual(
        all.map((p) => Buffer.from(p.payload).toString("hex")),
      );
    });
  }

  // A packet of the previous SSRC that arrives after the new SSRC's first (10 ms packets
  // reordered across a resume or a restarted stream) was dropped (`staleSsrc`) and its 10 ms
  // concealed. It goes where its own source's mapping puts it now, decoded with its own source's
  // decoder state: the recording is byte for byte that of the same packets delivered in order.
  interface Change {
    what: string;
    frameMs: 10 | 20;
    /** packets from each source */
    count: number;
    newSentMs: number;
    /** every packet's way, both sources */
    delayMs: number;
    /** old packets (by index) that arrive this many ms after the new source's first */
    late: Record<number, number>;
  }
  const stragglers: Change[] = [
    {
      what: "a restarted stream: the old source's last 10 ms packet 4 ms after the new one's first",
      frameMs: 10,
      count: 200,
      newSentMs: 2000,
      delayMs: 3,
      late: { 199: 4 },
    },
    {
      what: "the old source's last two 10 ms packets after the new one's first, swapped",
      frameMs: 10,
      count: 200,
      newSentMs: 2000,
      delayMs: 3,
      late: { 198: 6, 199: 2 },
    },
    {
      what: "a resume whose new peer's first 10 ms packet is sent beside the old one's last: the straggler lands on the new source's place, which moves after it",
      frameMs: 10,
      count: 200,
      newSentMs: 1990,
      delayMs: 0,
      late: { 199: 3 },
    },
    {
      what: "a restarted stream: the old source's last 20 ms packet 4 ms after the new one's first",
      frameMs: 20,
      count: 100,
      newSentMs: 2000,
      delayMs: 3,
      late: { 99: 4 },
    },
  ];
  /** an old source then a new one: the old packets in `late` arrive that many ms after the new
   *  source's first packet; `inOrder`, the same packets each arriving when sent */
  function change(c: Change) {
    const late = c.late;
    const old = source({
      ssrc: 1,
      seq0: 65_530,
      ts0: 4_294_967_000,
      sentMs: 0,
      count: c.count,
      frameMs: c.frameMs,
      arrival: (_, t) => t + c.delayMs,
    });
    const fresh = source({
      ssrc: 2,
      seq0: 12,
      ts0: 77_000,
      sentMs: c.newSentMs,
      count: c.count,
      frameMs: c.frameMs,
      arrival: (_, t) => t + c.delayMs,
    });
    const inOrder = [...old, ...fresh];
    const reordered = [
      ...old.map((p, k) => (late[k] === undefined ? p : { ...p, at: fresh[0]!.at + late[k]! })),
      ...fresh,
    ];
    return { inOrder, reordered };
  }
  for (const c of stragglers) {
    it(`a straggler of the previous SSRC is recorded in its place — ${c.what}`, async () => {
      const { inOrder, reordered } = change(c);
      const name = `${c.frameMs}_${c.newSentMs}_${Object.keys(c.late).join("_")}`;
      const r = await record(`straggler_${name}`, reordered);
      const ref = await record(`straggler_in_order_${name}`, inOrder);
      const sent = sentMs(inOrder); // the new source's audio follows the old one's, whenever it was sent
      expect(r.counters).toMatchObject({ ssrcChanges: 1, staleSsrc: 0, late: 0, lost: 0 });
      expect(ref.counters).toMatchObject({ ssrcChanges: 1, staleSsrc: 0, late: 0, lost: 0, reordered: 0 });
      expect(r.audio.map((p) => Buffer.from(p).toString("hex"))).toEqual(
        inOrder.map((p) => Buffer.from(p.payload).toString("hex")),
      );
      expect(r.wavMs).toBe(sent);
      expect(r.oggMs).toBe(sent);
      expect(Buffer.from(r.samples.buffer).equals(Buffer.from(ref.samples.buffer))).toBe(true);
    });
  }

  // The window (RtpAudioReceiver.straggler, docs/timeline.md): a straggler too late for its place
  // is late like any other packet; the previous SSRC back after the window, or an old peer still
  // sending once the new one has begun, is no straggler.
  const restart = stragglers[0]!;

  it("a straggler of the previous SSRC whose place is already emitted is late: dropped, counted, its 10 ms concealed in place", async () => {
    const { inOrder, reordered } = change({ ...restart, late: { 199: 150 } });
    const r = await record("straggler_too_late", reordered);
    expect(r.counters).toMatchObject({ ssrcChanges: 1, staleSsrc: 0, late: 1, reordered: 1 });
    expect(r.wavMs).toBe(4000);
    expect(r.oggMs).toBe(4000);
    expect(r.audio).toHaveLength(400);
    expect([r.audio[199]!.length, opusPacketSamples(r.audio[199]!)]).toEqual([1, 480]);
    expect(r.audio.filter((_, k) => k !== 199).map((p) => Buffer.from(p).toString("hex"))).toEqual(
      inOrder.filter((_, k) => k !== 199).map((p) => Buffer.from(p.payload).toString("hex")),
    );
  });

  it("a straggler of the previous SSRC that is a duplicate (of one played or buffered) is a duplicate, whatever the new source numbers", async () => {
    const { inOrder, reordered } = change(restart);
    // the old source numbers its packets 1000…1199, the new one goes on from 1199 (a sender that
    // restarts its stream keeping its counter): the straggler #199 and the new source's first
    // packet carry the same number, and are not duplicates of each other
    const renumber = (p: Sent) => ({
      ...p,
      seq: p.ssrc === 1 ? 1000 + ((p.seq - 65_530 + 0x10000) % 0x10000) : 1199 + p.seq - 12,
    });
    const renumbered = reordered.map(renumber);
    const again = [198, 199].map((k) => renumber({ ...inOrder[k]!, at: inOrder[200]!.at + 8 }));
    const r = await record("straggler_duplicates", [...renumbered, ...again]);
    expect(r.counters).toMatchObject({ ssrcChanges: 1, staleSsrc: 0, late: 0, lost: 0, duplicate: 2 });
    expect(r.audio.map((p) => Buffer.from(p).toString("hex"))).toEqual(
      inOrder.map((p) => Buffer.from(p.payload).toString("hex")),
    );
  });

  it("the previous SSRC back long after (not a straggler): counted as stale and ignored, the recording as without it", async () => {
    const { inOrder } = change(restart);
    // the old source sends 10 more packets, its numbering and clock going on, a second later
    const back = source({ ssrc: 1, seq0: 65_530, ts0: 4_294_967_000, sentMs: 0, count: 210, frameMs: 10 })
      .slice(200)
      .map((p, k) => ({ ...p, at: 3000 + k * 10 }));
    const r = await record("ssrc_back_later", [...inOrder, ...back]);
    const ref = await record("ssrc_back_later_ref", inOrder);
    expect(r.counters).toMatchObject({ ssrcChanges: 1, staleSsrc: 10, late: 0, lost: 0, packets: 400 });
    expect(Buffer.from(r.samples.buffer).equals(Buffer.from(ref.samples.buffer))).toBe(true);
    expect(r.audio.map((p) => Buffer.from(p).toString("hex"))).toEqual(
      ref.audio.map((p) => Buffer.from(p).toString("hex")),
    );
  });

  it("an old peer still sending after the new one began: at most one slot of it goes before the new source, the rest is stale", async () => {
    const { inOrder } = change(restart);
    // the old peer goes on for 100 ms beside the new one, each of its packets 1 ms behind
    const more = source({ ssrc: 1, seq0: 65_530, ts0: 4_294_967_000, sentMs: 0, count: 210, frameMs: 10 })
      .slice(200)
      .map((p) => ({ ...p, at: p.at + restart.delayMs + 1 }));
    const r = await record("old_peer_still_sending", [...inOrder, ...more]);
    // its first two (20 ms) move the new source on by one slot, its other 8 are dropped
    expect(r.counters).toMatchObject({ ssrcChanges: 1, staleSsrc: 8, late: 0, lost: 0 });
    expect(r.wavMs).toBe(4020);
    expect(r.audio.map((p) => Buffer.from(p).toString("hex"))).toEqual(
      [...inOrder.slice(0, 200), ...more.slice(0, 2), ...inOrder.slice(200)].map((p) =>
        Buffer.from(p.payload).toString("hex"),
      ),
    );
  });
});
