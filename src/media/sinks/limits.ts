// Size and duration caps shared by the file sinks: when reached, the sink stops cleanly (file
// finalised, still valid), says so once, and counts what it refused.

export interface RecordingLimits {
  /** stop once the file would exceed this many bytes */
  maxBytes?: number;
  /** stop once this much audio has been written */
  maxDurationMs?: number;
}

/** disk_full: the file system refused a write (ENOSPC, EFBIG past RLIMIT_FSIZE, EDQUOT) */
export type LimitReason = "max_bytes" | "max_duration" | "disk_full";

export interface LimitEvent {
  reason: LimitReason;
  path: string;
  bytes: number;
  durationMs: number;
}

/** would writing `addBytes` more bytes / `addMs` more audio cross a limit? */
export function limitCrossed(
  limits: RecordingLimits,
  bytes: number,
  addBytes: number,
  durationMs: number,
  addMs: number,
): LimitReason | undefined {
  if (limits.maxBytes !== undefined && bytes + addBytes > limits.maxBytes) return "max_bytes";
  if (limits.maxDurationMs !== undefined && durationMs + addMs > limits.maxDurationMs + 1e-9)
    return "max_duration";
  return undefined;
}
