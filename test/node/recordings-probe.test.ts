// The node's probe of RECORDINGS_DIR (src/node/recordings-probe.ts): what it reports into the
// node's registry record. A directory gone (a file in its place) cannot be written: "unwritable";
// put back, the node can record again. Free space below the floor (statfs) is "disk-low": the
// threshold logic with an injected reader, then the real statfs of this machine's disk and of a
// real 4 MiB tmpfs (mounted in a user and mount namespace of its own: `unshare -rm`, no root
// needed where unprivileged user namespaces are allowed). A disk that refuses writes
// ("disk-full") is made for real by a file size limit in test/faults/two-nodes.test.ts ("a node
// whose recordings disk is full"), and by filling the tmpfs below. A probe file left by a process
// killed mid-probe is removed at the next start unless its pid is a live process's.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log/index.js";
import { startMediaNode } from "../../src/node/index.js";
import { RecordingsProbe, type StatfsReader } from "../../src/node/recordings-probe.js";
import { MemoryRegistry } from "../../src/registry/memory.js";
import { testConfig } from "./harness.js";

const root = mkdtempSync(join(tmpdir(), "rtcgw-probe-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const MIB = 1024 * 1024;

/** a statfs reader that answers what `free` holds now (4 KiB blocks), counting its calls */
function fakeStatfs(free: { bytes: number; error?: Error }) {
  const reader: StatfsReader & { calls: number } = Object.assign(
    async () => {
      reader.calls++;
      if (free.error) throw free.error;
      return { bavail: Math.floor(free.bytes / 4096), bsize: 4096 };
    },
    { calls: 0 },
  );
  return reader;
}

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

  it("is disk-low while the file system's free space (bavail × bsize) is below the floor, and can record again at or above it", async () => {
    const dir = mkdtempSync(join(root, "floor-"));
    const free = { bytes: 300 * MIB };
    const statfs = fakeStatfs(free);
    const p = new RecordingsProbe(dir, { minFreeBytes: 256 * MIB, statfs });
    expect(p.floorBytes).toBe(256 * MIB);
    expect(await p.check()).toBe(false);
    expect(p.state).toBeUndefined();
    expect(p.freeBytes).toBe(300 * MIB);
    free.bytes = 256 * MIB - 4096; // one block short
    expect(await p.check()).toBe(true);
    expect(p.state).toBe("disk-low");
    expect(p.freeBytes).toBe(256 * MIB - 4096);
    expect(p.lastError).toBeUndefined(); // the write probe did not fail: only the floor tripped
    expect(await p.check()).toBe(false);
    free.bytes = 256 * MIB; // at the floor is enough
    expect(await p.check()).toBe(true);
    expect(p.state).toBeUndefined();
    // the free space is read in the directory itself, after the probe file is gone
    expect(statfs.calls).toBe(4);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("a failing write probe says so whatever the free space; floor 0 never reads it; an unreadable free space does not stop recordings", async () => {
    const dir = join(root, "gone");
    const statfs = fakeStatfs({ bytes: 0 });
    const p = new RecordingsProbe(dir, { minFreeBytes: MIB, statfs });
    expect(await p.check()).toBe(true);
    expect(p.state).toBe("unwritable"); // ENOENT: the write probe tripped, not the floor
    expect(statfs.calls).toBe(0);

    mkdirSync(dir);
    const none = fakeStatfs({ bytes: 0 });
    const noFloor = new RecordingsProbe(dir, { minFreeBytes: 0, statfs: none });
    await noFloor.check();
    expect(noFloor.state).toBeUndefined();
    expect(none.calls).toBe(0);

    const broken = fakeStatfs({ bytes: 0, error: new Error("ENOSYS: function not implemented, statfs") });
    const unknown = new RecordingsProbe(dir, { minFreeBytes: MIB, statfs: broken });
    expect(await unknown.check()).toBe(false);
    expect(unknown.state).toBeUndefined();
    expect(unknown.freeSpaceError).toMatch(/ENOSYS/);
    expect(unknown.freeBytes).toBeUndefined();
  });

  it("reads the real free space of this machine's disk (node:fs statfs)", async () => {
    const dir = mkdtempSync(join(root, "real-"));
    const s = statfsSync(dir);
    const real = s.bavail * s.bsize;
    const p = new RecordingsProbe(dir, { minFreeBytes: 1 });
    await p.check();
    expect(p.state).toBeUndefined();
    // other processes write meanwhile: within 64 MiB of what statfsSync said
    expect(Math.abs(p.freeBytes! - real)).toBeLessThan(64 * MIB);
    const above = new RecordingsProbe(dir, { minFreeBytes: real + 1024 * MIB });
    expect(await above.check()).toBe(true);
    expect(above.state).toBe("disk-low");
  });
});

/** a pid no process has: a child's, once it has exited */
const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid;

/** a pid a process has: a child that sleeps until killed */
async function livePid() {
  const child = spawn("sleep", ["60"], { stdio: "ignore" });
  await new Promise((r) => child.once("spawn", r));
  return { pid: child.pid!, kill: () => child.kill("SIGKILL") };
}

describe("probe files left by a process killed mid-probe", () => {
  it("removes those of pids no process has, keeps a live process's (another worker's, mid-probe) and every other file", async () => {
    const dir = mkdtempSync(join(root, "leftovers-"));
    const live = await livePid();
    try {
      const dead = `.rtcgw-probe-${deadPid()}-deadbeef`;
      const alive = `.rtcgw-probe-${live.pid}-0badf00d`;
      const mine = `.rtcgw-probe-${process.pid}-00c0ffee`;
      const others = ["call.wav", "call.ogg", ".rtcgw-probe-notes", ".rtcgw-probe-12-not-hex"];
      for (const f of [dead, alive, mine, ...others]) writeFileSync(join(dir, f), Buffer.alloc(4096));
      const p = new RecordingsProbe(dir);
      expect(await p.removeLeftovers()).toEqual([dead]);
      expect(readdirSync(dir).sort()).toEqual([alive, mine, ...others].sort());
      expect(await p.removeLeftovers()).toEqual([]);
      // the probe's own file is still made and removed as before
      await p.check();
      expect(p.state).toBeUndefined();
      expect(readdirSync(dir).sort()).toEqual([alive, mine, ...others].sort());
    } finally {
      live.kill();
    }
    expect(await new RecordingsProbe(join(root, "no-such-dir")).removeLeftovers()).toEqual([]);
  });

  it("a media node removes them when it starts", async () => {
    const config = testConfig({ NODE_PORT: "0" });
    const dead = `.rtcgw-probe-${deadPid()}-deadbeef`;
    const live = await livePid();
    const alive = `.rtcgw-probe-${live.pid}-0badf00d`;
    writeFileSync(join(config.RECORDINGS_DIR, dead), Buffer.alloc(4096));
    writeFileSync(join(config.RECORDINGS_DIR, alive), Buffer.alloc(4096));
    try {
      const node = await startMediaNode({
        config,
        registry: new MemoryRegistry(),
        logger: createLogger({ level: "silent" }),
      });
      await node.close();
      expect(readdirSync(config.RECORDINGS_DIR)).toEqual([alive]);
    } finally {
      live.kill();
      rmSync(config.RECORDINGS_DIR, { recursive: true, force: true });
    }
  });
});

// a 4 MiB tmpfs in a mount namespace of the child's own: what the probe sees of a real small disk
const unshare = spawnSync("unshare", ["-rm", "sh", "-c", `mount -t tmpfs -o size=64k t "${root}" && true`], {
  encoding: "utf8",
});
const canMount = unshare.status === 0;

describe.skipIf(!canMount)("RecordingsProbe on a real 4 MiB file system (tmpfs, unshare -rm)", () => {
  it("can record with 4 MiB free over a 2 MiB floor; disk-low with 1 MiB left; disk-full when the disk refuses the probe; can record again once emptied", () => {
    const dir = mkdtempSync(join(root, "tmpfs-"));
    const script = `
      import { writeFileSync, rmSync, openSync, writeSync, closeSync } from "node:fs";
      import { RecordingsProbe } from "./src/node/recordings-probe.ts";
      const dir = process.argv[1];
      const p = new RecordingsProbe(dir, { minFreeBytes: 2 * 1024 * 1024 });
      const steps = [];
      const step = async (name) => {
        await p.check();
        steps.push({ name, state: p.state ?? null, freeBytes: p.freeBytes ?? null, lastError: p.lastError ?? null });
      };
      await step("empty");
      writeFileSync(dir + "/a.wav", Buffer.alloc(3 * 1024 * 1024));
      await step("3 MiB written");
      // fill the rest: a write past the end is refused ENOSPC
      const fd = openSync(dir + "/b.wav", "w");
      try { for (;;) writeSync(fd, Buffer.alloc(64 * 1024)); } catch (e) { steps.push({ name: "filled", code: e.code }); }
      closeSync(fd);
      await step("full");
      rmSync(dir + "/a.wav"); rmSync(dir + "/b.wav");
      await step("emptied");
      process.stdout.write(JSON.stringify(steps));
    `;
    const r = spawnSync(
      "unshare",
      [
        "-rm",
        "sh",
        "-c",
        'mount -t tmpfs -o size=4m rtcgw-probe-test "$0" && exec "$1" --import tsx --input-type=module -e "$2" "$0"',
        dir,
        process.execPath,
        script,
      ],
      { encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    const [empty, written, filled, full, emptied] = JSON.parse(r.stdout) as {
      name: string;
      state: string | null;
      freeBytes: number | null;
      lastError: string | null;
      code?: string;
    }[];
    expect(empty).toMatchObject({ state: null });
    expect(empty!.freeBytes).toBe(4 * MIB); // the real statfs of the real tmpfs
    expect(written).toMatchObject({ state: "disk-low", lastError: null });
    expect(written!.freeBytes).toBe(1 * MIB);
    expect(filled).toMatchObject({ code: "ENOSPC" });
    expect(full).toMatchObject({ state: "disk-full" });
    expect(full!.lastError).toMatch(/ENOSPC/);
    expect(emptied).toMatchObject({ state: null, freeBytes: 4 * MIB });
    // the mount was the child's own: the directory here is empty and on the machine's disk
    expect(readdirSync(dir)).toEqual([]);
  });
});
