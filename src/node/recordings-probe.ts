// Whether this node can record now: a small file written to RECORDINGS_DIR and removed, every
// heartbeat interval and after a session whose media could not be set up. The start checks the
// directory once (src/media/preflight.ts); a disk that fills later made the node refuse every
// record session 503 media-unavailable while the signaling kept picking it for them. What this
// finds goes into the node's registry record (recordUnavailable), so the signaling sends
// recordings to other nodes and /v1/health says the service is degraded.
import { randomBytes } from "node:crypto";
import { open, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";

/** one file-system block: a disk with less room than this cannot take a recording's first flush */
const PROBE_BYTES = 4096;
/** the file system refused the bytes: no room (ENOSPC), a quota (EDQUOT), a file size limit (EFBIG) */
const FULL = new Set(["ENOSPC", "EDQUOT", "EFBIG"]);

export type RecordUnavailable = "disk-full" | "unwritable";

export class RecordingsProbe {
  private readonly path: string;
  private current: RecordUnavailable | undefined;
  private running: Promise<boolean> | undefined;
  /** the error of the last failed probe, for the log line */
  lastError: string | undefined;

  constructor(dir: string) {
    this.path = join(resolve(dir), `.rtcgw-probe-${process.pid}-${randomBytes(4).toString("hex")}`);
  }

  /** undefined while the node can record, else why not */
  get state(): RecordUnavailable | undefined {
    return this.current;
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
    let fh: Awaited<ReturnType<typeof open>> | undefined;
    try {
      fh = await open(this.path, "w", 0o600);
      const { bytesWritten } = await fh.write(Buffer.alloc(PROBE_BYTES), 0, PROBE_BYTES, 0);
      if (bytesWritten < PROBE_BYTES)
        throw Object.assign(new Error(`short write (${bytesWritten} of ${PROBE_BYTES})`), { code: "ENOSPC" });
      this.current = undefined;
      this.lastError = undefined;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      this.current = code !== undefined && FULL.has(code) ? "disk-full" : "unwritable";
      this.lastError = (e as Error).message;
    } finally {
      await fh?.close().catch(() => {});
      await unlink(this.path).catch(() => {});
    }
    return this.current !== before;
  }
}
