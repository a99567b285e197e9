// A child process run to its end without blocking this event loop (a dynalite, a media node or an
// emulator living in this process must keep answering it meanwhile): its exit code and its whole
// stdout and stderr. spawnSync would freeze those servers; execFile caps output and rejects on a
// non-zero exit before the caller can read what the child printed.
import { type SpawnOptions, spawn } from "node:child_process";

export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runChild(command: string, args: string[], options: SpawnOptions = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const c = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    c.stdout!.on("data", (d) => {
      stdout += d;
    });
    c.stderr!.on("data", (d) => {
      stderr += d;
    });
    c.on("error", reject);
    c.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}
