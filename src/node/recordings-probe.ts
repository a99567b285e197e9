// Whether this node can record now, checked every heartbeat interval and after a session whose
// media could not be set up: a small file written to RECORDINGS_DIR and removed (the write
// probe), then the free space of the directory's file system read (statfs: bavail × bsize, what
// an unprivileged process may still write) against a floor, RTCGW_RECORDINGS_MIN_FREE_MB. The
// start checks the directory once (src/media/preflight.ts); a disk that filled later made the
// node refuse every record session 503 media-unavailable while the signaling kept picking it for
// them, and a disk with more than the probe's 4 KiB but less than a call's worth free took
// recordings that then stopped at the limit (recordingError disk_full). What this finds goes into
// the node's registry record (recordUnavailable), so the signaling sends recordings to other nodes
// and /v1/health says the service is degraded.
import { randomBytes } from "node:crypto";
import { open, readdir, statfs, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";

/** one file-system block: a disk with less room than this cannot take a recording's first flush */
const PROBE_BYTES = 4096;
/** the file system refused the bytes: no room (ENOSPC), a quota (EDQUOT), a file size limit (EFBIG) */
const FULL = new Set(["ENOSPC", "EDQUOT", "EFBIG"]);
/** the probe file's name: the writing process's pid, then 4 random bytes (the workers of a host
 *  share one RECORDINGS_DIR, and a process may hold several probes) */
const PROBE_PREFIX = ".rtcgw-probe-";
const PROBE_NAME = /^\.rtcgw-probe-(\d+)-[0-9a-f]{8}$/;

/** whether a process of this pid exists (EPERM: it does, another user's) */
function processExists(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** disk-low: free space below the floor (the write probe succeeded); disk-full: the write probe
 *  was refused for want of room; unwritable: the write probe failed otherwise */
export type RecordUnavailable = "disk-low" | "disk-full" | "unwritable";

/** the free space of a path's file system, as fs.promises.statfs gives it */
export type StatfsReader = (path: string) => Promise<{ bavail: number; bsize: number }>;

export interface RecordingsProbeOptions {
  /** bytes that must be free on the file system for the node to take recordings (0 = no floor:
   *  the write probe alone decides) */
  minFreeBytes?: number;
  /** reads the free space (default: node:fs statfs); tests inject one */
  statfs?: StatfsReader;
}

export class RecordingsProbe {
  private readonly dir: string;
  private readonly path: string;
  private readonly minFreeBytes: number;
  private readonly readStatfs: StatfsReader;
  private current: RecordUnavailable | undefined;
  private running: Promise<boolean> | undefined;
  /** the error of the last failed write probe, for the log line */
  lastError: string | undefined;
  /** bytes free at the last probe that read them (bavail × bsize) */
  freeBytes: number | undefined;
  /** why the last probe could not read the free space (the floor was then not applied: the write
   *  probe alone decided), undefined when it could */
  freeSpaceError: string | undefined;

  constructor(dir: string, options: RecordingsProbeOptions = {}) {
    this.dir = resolve(dir);
    this.path = join(this.dir, `${PROBE_PREFIX}${process.pid}-${randomBytes(4).toString("hex")}`);
    this.minFreeBytes = options.minFreeBytes ?? 0;
    this.readStatfs = options.statfs ?? ((p) => statfs(p));
  }

  /** Removes the probe files a process killed in the middle of a probe left in the directory
   *  (called at the node's start): only those whose pid no process has now — a live worker's
   *  probe file is its own, mid-probe. Returns the names removed; a directory that cannot be read
   *  removes nothing (the probe then says why). */
  async removeLeftovers(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const name of names) {
      const m = PROBE_NAME.exec(name);
      if (!m || processExists(Number(m[1]))) continue;
      try {
        await unlink(join(this.dir, name));
        removed.push(name);
      } catch {
        // gone already (another worker starting at the same time removed it), or not ours to remove
      }
    }
    return removed;
  }

  /** undefined while the node can record, else why not */
  get state(): RecordUnavailable | undefined {
    return this.current;
  }

  /** the floor this probe applies, in bytes (0 = none) */
  get floorBytes(): number {
    return this.minFreeBytes;
  }

  /** probes now (one probe at a time: a caller during one gets its result); true if the state changed */
  check(): Promise<boolean> {
    this.running ??= this.probe().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async probe(): Promise<boolean> {
    const before = this.current;
    this.current = (await this.writeProbe()) ?? (await this.freeSpace());
    return this.current !== before;
  }

  /** writes PROBE_BYTES and removes them: undefined if the disk took them, else why not */
  private async writeProbe(): Promise<RecordUnavailable | undefined> {
    let fh: Awaited<ReturnType<typeof open>> | undefined;
    try {
      fh = await open(this.path, "w", 0o600);
      const { bytesWritten } = await fh.write(Buffer.alloc(PROBE_BYTES), 0, PROBE_BYTES, 0);
      if (bytesWritten < PROBE_BYTES)
        throw Object.assign(new Error(`short write (${bytesWritten} of ${PROBE_BYTES})`), { code: "ENOSPC" });
      this.lastError = undefined;
      return undefined;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      this.lastError = (e as Error).message;
      return code !== undefined && FULL.has(code) ? "disk-full" : "unwritable";
    } finally {
      await fh?.close().catch(() => {});
      await unlink(this.path).catch(() => {});
    }
  }

  /** after a write probe that succeeded (its file removed): "disk-low" below the floor. A free
   *  space that cannot be read does not stop recordings (the write just succeeded): it is kept in
   *  freeSpaceError for the node to log */
  private async freeSpace(): Promise<RecordUnavailable | undefined> {
    if (this.minFreeBytes <= 0) return undefined;
    try {
      const { bavail, bsize } = await this.readStatfs(this.dir);
      this.freeBytes = bavail * bsize;
      this.freeSpaceError = undefined;
    } catch (e) {
      this.freeBytes = undefined;
      this.freeSpaceError = (e as Error).message;
      return undefined;
    }
    return this.freeBytes < this.minFreeBytes ? "disk-low" : undefined;
  }
}
