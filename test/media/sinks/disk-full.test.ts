// The recordings disk full mid-call: the files are closed valid (the WAV's header claims exactly
// the whole sample frames on disk, the Ogg ends on its last whole page) and the recorder says
// so (state "limited", reason disk_full, the error). The full disk is RLIMIT_FSIZE (`ulimit -f`)
// on the recording process: mounting a small tmpfs needs privileges a CI runner may not have;
// the kernel answers a write past the limit with EFBIG (Node ignores SIGXFSZ) where a full
// disk answers ENOSPC, and the writers treat both (and a short write) the same way.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readOggPages } from "./ogg.js";
import { parseWav } from "./wav.js";

const dir = mkdtempSync(join(tmpdir(), "rtcgw-diskfull-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("recordings disk full mid-call", () => {
  it("WAV and Ogg are closed valid at the limit, and the recorder reports disk_full", () => {
    const child = join(__dirname, "../fixtures/record-child.ts");
    // 100 KiB per file: the 48 kHz WAV (96 kB/s) hits it after ~1 s of the 5 s call
    const r = spawnSync(
      "bash",
      ["-c", `ulimit -f 100 && exec "${process.execPath}" --import tsx "${child}" "${dir}"`],
      {
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const { stats, limits } = JSON.parse(r.stdout.trim().split("\n").pop()!) as {
      stats: { wav: { state: string; writeError?: string; durationMs: number }; ogg: { state: string } };
      limits: Array<{ file: string; reason: string }>;
    };
    expect(stats.wav.state).toBe("closed"); // stopped at the limit, then closed with the call
    expect(stats.wav.writeError).toMatch(/EFBIG|ENOSPC|short write/);
    expect(limits).toContainEqual(expect.objectContaining({ file: "wav", reason: "disk_full" }));
    const wavPath = join(dir, "disk_full_call.wav");
    const size = statSync(wavPath).size;
    expect(size).toBeLessThanOrEqual(100 * 1024);
    const w = parseWav(wavPath);
    // the header claims exactly what is on disk, in whole frames: any reader plays it to its end
    expect(44 + w.dataBytes).toBe(size);
    expect(w.dataBytes % 2).toBe(0);
    expect(w.dataBytes / 96).toBeGreaterThan(500); // ms of audio kept before the limit
    // the Ogg is far smaller (≈4 kB/s): it fits, and ends on a whole page with a valid CRC
    const pages = readOggPages(join(dir, "disk_full_call.ogg"));
    expect(pages.length).toBeGreaterThan(2);
    expect(pages.every((p) => p.crcOk)).toBe(true);
    expect(readFileSync(wavPath).toString("ascii", 0, 4)).toBe("RIFF");
  }, 60_000);
});
