// The rtcgw CLI as a user runs it (bin/rtcgw.mjs through tsx): help, configuration errors that
// name what to fix (exit 2, no stack trace), and `rtcgw dev` serving and shutting down on SIGTERM.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../../bin/rtcgw.mjs", import.meta.url));
const clean = () => {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(RTCGW_|MEDIA_|PORT$|NODE_PORT$|RECORDINGS_DIR$|LOG_LEVEL$)/.test(k))
      env[k] = v;
  return env;
};
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [BIN, ...args], {
    env: { ...clean(), ...env },
    encoding: "utf8",
    timeout: 60_000,
  });

describe("rtcgw", () => {
  it("--help lists the commands and the environment", () => {
    const r = run(["--help"]);
    expect(r.status).toBe(0);
    for (const cmd of ["dev", "node", "signaling"]) expect(r.stdout).toMatch(new RegExp(`\\n\\s+${cmd}\\b`));
    expect(r.stdout).toMatch(/RTCGW_REGISTRY/);
    expect(run(["dev", "--help"]).stdout).toMatch(/--host/);
  });

  it("a bad setting exits 2 with a message naming the variable and what it expects", () => {
    const r = run(["dev"], { PORT: "eighty", RTCGW_REGISTRY: "postgres://x" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/PORT must be a port number/);
    expect(r.stderr).toMatch(/RTCGW_REGISTRY/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("`signaling` refuses the memory registry and a missing node secret, saying what to set", () => {
    const r = run(["signaling"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/RTCGW_REGISTRY: .*redis:\/\/.*dynamodb:TABLE/);
    expect(r.stderr).toMatch(/RTCGW_NODE_SECRET/);
  });

  it("an unknown command is an error with help", () => {
    const r = run(["serve"]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unknown command/);
  });

  it("`dev` prints its URL, serves health and the page, and stops cleanly on SIGTERM", async () => {
    // PORT=0: any free port, printed at start (a port picked here could be taken meanwhile)
    const child = spawn(process.execPath, [BIN, "dev"], {
      env: {
        ...clean(),
        PORT: "0",
        LOG_LEVEL: "warn",
        RECORDINGS_DIR: mkdtempSync(join(tmpdir(), "rtcgw-cli-")),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
    });
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const deadline = Date.now() + 45_000;
    const printed = () => /demo page\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1];
    while (!printed() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const url = printed();
    expect(url).toBeDefined();
    expect(url).not.toMatch(/:0$/);
    const health = await fetch(`${url}/v1/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { nodes: { live: number } }).nodes.live).toBe(1);
    expect((await fetch(`${url}/`)).headers.get("content-type")).toMatch(/html/);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 60_000);
});

describe("rtcgw dev on a busy port", () => {
  it("exits 2 and says which variable to change", async () => {
    const { createServer: createHttp } = await import("node:http");
    const busy = createHttp();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = spawnSync(process.execPath, [BIN, "dev"], {
        env: {
          ...clean(),
          PORT: String(port),
          LOG_LEVEL: "silent",
          RECORDINGS_DIR: mkdtempSync(join(tmpdir(), "rtcgw-cli-")),
        },
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`PORT: port ${port} is already in use; set PORT to a free port`));
    } finally {
      busy.close();
    }
  }, 60_000);
});

describe("rtcgw checks at start what it can check at start", () => {
  // /proc: Node's recursive mkdir loops forever there; the check must fail at once instead
  for (const [what, dir] of [
    ["under /proc", "/proc/rtcgw-recordings/x"],
    ["a regular file", "/etc/hostname"],
  ] as const)
    it(`a RECORDINGS_DIR that is ${what}: exit 2 naming RECORDINGS_DIR, before anything listens`, () => {
      const started = Date.now();
      const r = run(["dev"], { PORT: "0", LOG_LEVEL: "silent", RECORDINGS_DIR: dir });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/RECORDINGS_DIR: .* is not a directory rtcgw can write recordings in/);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.stdout).not.toMatch(/rtcgw dev is running/);
      expect(Date.now() - started).toBeLessThan(30_000);
    }, 60_000);
});
