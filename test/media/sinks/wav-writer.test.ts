import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FrameFormatError, SinkClosedError } from "../../../src/media/sinks/errors.js";
import { WAV_HEADER_BYTES, WavWriter } from "../../../src/media/sinks/wav-writer.js";
import { ToneSource } from "../../../src/media/sources/tone.js";
import { parseWav, zeroCrossingHz } from "./wav.js";

const dir = mkdtempSync(join(tmpdir(), "rtcgw-wav-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function soxDuration(path: string): number {
  const r = spawnSync("soxi", ["-D", path], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`soxi failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

describe("WAV recorder", () => {
  it("writes a valid 16-bit file at the chosen rate, mono and stereo; sox agrees", () => {
    for (const [rate, channels] of [
      [16000, 1],
      [48000, 2],
      [8000, 1],
      [44100, 2],
    ] as const) {
      const path = join(dir, `ok-${rate}-${channels}.wav`);
      const tone = new ToneSource({ rate, channels, frequency: 1000 });
      const wav = new WavWriter(path, { rate, channels });
      for (let i = 0; i < 150; i++) wav.onFrame(tone.nextFrame()); // 3 s
      wav.close();
      const p = parseWav(path);
      expect(p).toMatchObject({ format: 1, channels, rate, bitsPerSample: 16 });
      const frameSamples = Math.round(rate / 50);
      expect(p.dataBytes).toBe(150 * frameSamples * channels * 2);
      expect(p.riffSize).toBe(p.fileBytes - 8);
      expect(soxDuration(path)).toBeCloseTo(3, 3);
      expect(zeroCrossingHz(p.samples, rate, channels)).toBeCloseTo(1000, -1);
    }
  });

  it("writes every sample in order whatever the write sizes, from a caller buffer reused between calls", () => {
    const path = join(dir, "sizes.wav");
    const wav = new WavWriter(path, { rate: 16000, channels: 1 });
    const buf = new Int16Array(16000);
    const sent: number[] = [];
    let v = 0;
    // frames, a whole second in one write (more than a flush period), odd sizes, then frames again
    for (const n of [320, 320, 16000, 7, 320, 3333, 320, 1, 640]) {
      const chunk = buf.subarray(0, n);
      for (let i = 0; i < n; i++) chunk[i] = (v++ % 30000) - 15000;
      sent.push(...chunk);
      wav.write(chunk);
    }
    wav.close();
    const p = parseWav(path);
    expect(p.dataBytes).toBe(sent.length * 2);
    expect(Array.from(p.samples)).toEqual(sent);
  });

  it("patches the header every second of audio, so a copy taken mid-call is valid and nearly complete", () => {
    const path = join(dir, "mid.wav");
    const tone = new ToneSource({ rate: 16000 });
    const wav = new WavWriter(path, { rate: 16000, channels: 1 });
    expect(parseWav(path).dataBytes).toBe(0); // valid from the first byte
    for (let i = 0; i < 175; i++) wav.onFrame(tone.nextFrame()); // 3.5 s
    const snap = join(dir, "mid-snapshot.wav");
    writeFileSync(snap, readFileSync(path)); // what a crash right now would leave
    const p = parseWav(snap);
    expect(p.dataBytes % 2).toBe(0);
    expect(p.dataBytes / 32).toBeGreaterThanOrEqual(2500); // ≤ 1 s behind
    expect(p.dataBytes / 32).toBeLessThanOrEqual(3500);
    wav.close();
    expect(parseWav(path).dataBytes / 32).toBe(3500);
  });

  it("is valid after the recording process is killed with SIGKILL mid-write", async () => {
    const path = join(dir, "killed.wav");
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(__dirname, "../fixtures/wav-child.ts"), path, "16000"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    // wait until the child has patched the header at least twice (≥ 2 s of audio recorded)
    const recordedMs = await new Promise<number>((resolve, reject) => {
      let buf = "";
      child.stdout.on("data", (d: Buffer) => {
        buf += d.toString();
        const lines = buf.trim().split("\n");
        const [patches, ms] = lines[lines.length - 1]!.split(" ").map(Number);
        if (patches! >= 2 && ms! >= 2300) resolve(ms!);
      });
      child.on("exit", (code) => reject(new Error(`child exited ${code}: ${stderr}`)));
    });
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect(child.signalCode).toBe("SIGKILL");
    const p = parseWav(path);
    expect(p).toMatchObject({ format: 1, channels: 1, rate: 16000, bitsPerSample: 16 });
    expect(p.dataOffset).toBe(WAV_HEADER_BYTES);
    // the header never claims more than the file holds, and at most ~1 s less than was recorded
    expect(p.dataBytes).toBeLessThanOrEqual(statSync(path).size - WAV_HEADER_BYTES);
    expect(p.dataBytes / 32).toBeGreaterThanOrEqual(recordedMs - 1250);
    expect(p.riffSize).toBe(36 + p.dataBytes);
    expect(zeroCrossingHz(p.samples, 16000)).toBeCloseTo(440, -1);
    // an independent reader (sox) accepts it too
    expect(soxDuration(path)).toBeCloseTo(p.dataBytes / 32000, 3);
  });

  it("refuses wrong frame formats and writes after close with typed errors", () => {
    const path = join(dir, "typed.wav");
    const wav = new WavWriter(path, { rate: 16000, channels: 1 });
    expect(() => wav.onFrame({ pts: 0, rate: 48000, channels: 1, samples: new Int16Array(960) })).toThrow(
      FrameFormatError,
    );
    wav.close();
    wav.close();
    expect(() => wav.write(new Int16Array(320))).toThrow(SinkClosedError);
    expect(() => new WavWriter(path, { rate: 16000, channels: 1 })).toThrow(/EEXIST/); // never overwrites
  });
});
