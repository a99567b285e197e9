// `npm start` under a process manager (a container's init, systemd, a CI step): SIGTERM goes to
// npm, npm passes it to the shell running the script, and that shell (dash on Debian) neither
// replaces itself with the command nor passes the signal on — so the gateway must be what the
// script's shell execs, or it is left running with no parent, still holding its ports.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** every process below `pid` (children, their children, …) */
function descendants(pid: number): number[] {
  let out = "";
  try {
    out = execFileSync("ps", ["-e", "-o", "pid=,ppid="], { encoding: "utf8" });
  } catch {
    return [];
  }
  const kids = new Map<number, number[]>();
  for (const line of out.trim().split("\n")) {
    const [p, pp] = line.trim().split(/\s+/).map(Number);
    if (!kids.has(pp!)) kids.set(pp!, []);
    kids.get(pp!)!.push(p!);
  }
  const all: number[] = [];
  const walk = (p: number) => {
    for (const k of kids.get(p) ?? []) {
      all.push(k);
      walk(k);
    }
  };
  walk(pid);
  return all;
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it("SIGTERM to `npm start` stops the gateway: no process of it is left", async () => {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(RTCGW_|MEDIA_|PORT$|NODE_PORT$|RECORDINGS_DIR$|LOG_LEVEL$|npm_)/.test(k))
      env[k] = v;
  const npm = spawn("npm", ["start"], {
    cwd: ROOT,
    env: {
      ...env,
      PORT: "0",
      NODE_PORT: "0",
      RTCGW_DEMO_AGENT: "0",
      RECORDINGS_DIR: mkdtempSync(join(tmpdir(), "rtcgw-npm-start-")),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  npm.stdout.on("data", (c) => {
    out += c;
  });
  npm.stderr.on("data", (c) => {
    out += c;
  });
  const exited = new Promise<void>((r) => npm.once("exit", () => r()));
  // the banner names the demo page: the gateway is up and serving
  const url = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 30_000);
    const check = () => {
      const m = /demo page\s+(http:\/\/[^/\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      } else setTimeout(check, 50);
    };
    check();
  });
  expect(url, out.slice(-1000)).toBeDefined();
  expect((await fetch(`${url}/v1/health`)).status).toBe(200);
  const tree = descendants(npm.pid!);
  expect(tree.length).toBeGreaterThan(0);

  npm.kill("SIGTERM");
  await exited;
  // the gateway drains (2 s at most in dev) and exits: every process npm started is gone
  const deadline = Date.now() + 10_000;
  while (tree.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const left = tree.filter(alive);
  for (const p of left) process.kill(p, "SIGKILL");
  expect(left, `left running after SIGTERM to npm: ${left.join(", ")}`).toEqual([]);
  await expect(fetch(`${url}/v1/health`)).rejects.toThrow();
}, 60_000);
