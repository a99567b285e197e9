// The node's probe of RECORDINGS_DIR (src/node/recordings-probe.ts): what it reports into the
// node's registry record. A directory gone (a file in its place) cannot be written: "unwritable";
// put back, the node can record again. A full disk ("disk-full") is made for real by a file size
// limit in test/faults/two-nodes.test.ts ("a node whose recordings disk is full").
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RecordingsProbe } from "../../src/node/recordings-probe.js";

const root = mkdtempSync(join(tmpdir(), "rtcgw-probe-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("RecordingsProbe", () => {
  it("can record in a writable directory and leaves no file; unwritable when the directory is not one; clears when it is back", async () => {
    const dir = join(root, "rec");
    mkdirSync(dir);
    const p = new RecordingsProbe(dir);
    expect(await p.check()).toBe(false);
    expect(p.state).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
    rmSync(dir, { recursive: true });
    writeFileSync(dir, "not a directory");
    expect(await p.check()).toBe(true);
    expect(p.state).toBe("unwritable");
    expect(p.lastError).toMatch(/ENOTDIR/);
    expect(await p.check()).toBe(false); // unchanged
    rmSync(dir);
    mkdirSync(dir);
    expect(await p.check()).toBe(true);
    expect(p.state).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
  });
});
