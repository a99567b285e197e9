// The media node's code: a tarball of the repository's TRACKED files at HEAD (`git archive`), never
// the working tree — an untracked .env, recordings, node_modules or cdk.out cannot reach the
// instance. Named by the commit, so the asset (and the launch template's user data, and with it
// a rolling update) changes exactly when the committed code does.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import * as path from "node:path";

export interface SourceArtifact {
  file: string;
  commit: string;
  /** tracked files changed but not committed (they are NOT in the artifact) */
  dirty: boolean;
}

export function buildSourceArtifact(repo: string, outDir: string): SourceArtifact {
  const git = (...args: string[]) => execFileSync("git", ["-C", repo, ...args], { encoding: "utf8" }).trim();
  const commit = git("rev-parse", "HEAD");
  const dirty = git("status", "--porcelain", "--untracked-files=no") !== "";
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `rtcgw-${commit.slice(0, 12)}.tar.gz`);
  if (!existsSync(file)) git("archive", "--format=tar.gz", `--output=${file}`, "HEAD");
  return { file, commit, dirty };
}
