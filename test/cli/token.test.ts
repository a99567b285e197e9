// `rtcgw token` as a backend runs it (bin/rtcgw.mjs): the token it prints is one the signaling's
// own verifier accepts, with the claims asked for; bad options exit 2 naming what to fix; and
// `rtcgw dev` with RTCGW_TOKEN_SECRET takes a CLI-minted token and one from its dev-only
// POST /dev/token (what the demo page uses) — each once — and refuses an offer with none.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { verifyClientToken } from "../../src/signaling/client-token.js";
import { ClientPeer } from "../support/client-peer.js";

const BIN = fileURLToPath(new URL("../../bin/rtcgw.mjs", import.meta.url));
const SECRET = "cli-client-token-secret-0123456789abcdef";
const clean = () => {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(RTCGW_|MEDIA_|PORT$|NODE_PORT$|RECORDINGS_DIR$|LOG_LEVEL$)/.test(k))
      env[k] = v;
  return env;
};
const token = (args: string[], env: Record<string, string> = { RTCGW_TOKEN_SECRET: SECRET }) =>
  spawnSync(process.execPath, [BIN, "token", ...args], {
    env: { ...clean(), ...env },
    encoding: "utf8",
    timeout: 60_000,
  });

const peers: ClientPeer[] = [];
afterAll(async () => {
  for (const p of peers) await p.close();
});

describe("rtcgw token", () => {
  it("prints one token the signaling verifies, with the profiles, record flag and lifetime asked for", async () => {
    const r = token(["--profile", "echo", "--record", "--ttl", "120"]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const claims = await verifyClientToken(SECRET, lines[0]!, Date.now());
    expect(claims.profiles).toEqual(["echo"]);
    expect(claims.record).toBe(true);
    expect(claims.exp - claims.iat).toBe(120);
    // the default: echo only, 300 s
    const d = await verifyClientToken(SECRET, token([]).stdout.trim(), Date.now());
    expect(d).toMatchObject({ profiles: ["echo"], record: false });
    expect(d.exp - d.iat).toBe(300);
  });

  it("--bridge with --bridge-param fixes the application URL and its parameters (--json)", async () => {
    const r = token([
      "--bridge",
      "wss://agent.example.com/ws",
      "--bridge-param",
      "conversation=c 1",
      "--json",
    ]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.claims.bridge).toBe("wss://agent.example.com/ws?conversation=c+1");
    expect(out.claims.profiles).toEqual(["bridge"]);
    const claims = await verifyClientToken(SECRET, out.token, Date.now());
    expect(claims.bridge).toBe(out.claims.bridge);
    expect(out.expiresAt).toBe(claims.exp);
  });

  it("--start-param and --bridge-protocol pin the agent's start parameters and protocol", async () => {
    const r = token([
      "--bridge",
      "wss://agent.example.com/ws",
      "--start-param",
      "customer=c-42",
      "lang=de",
      "--bridge-protocol",
      "twilio",
      "--json",
    ]);
    expect(r.status, r.stderr).toBe(0);
    const claims = await verifyClientToken(SECRET, JSON.parse(r.stdout).token, Date.now());
    expect(claims.bridgeParams).toEqual({ customer: "c-42", lang: "de" });
    expect(claims.bridgeProtocol).toBe("twilio");
    expect(claims.bridge).toBe("wss://agent.example.com/ws");
  });

  it("--rate pins the recording's WAV rate (with --record); a rate it could not record at exits 2", async () => {
    const r = token(["--record", "--rate", "8000", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const claims = await verifyClientToken(SECRET, JSON.parse(r.stdout).token, Date.now());
    expect(claims).toMatchObject({ record: true, recordRate: 8000 });
    const bad = token(["--record", "--rate", "44100"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/record rate must be one of 8000, 16000, 24000, 48000/);
  });

  it("exits 2 naming what to fix, never printing the secret", () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [[], {}, /RTCGW_TOKEN_SECRET must be set/],
      [[], { RTCGW_TOKEN_SECRET: "short-secret-value" }, /RTCGW_TOKEN_SECRET must be at least 32 characters/],
      [["--ttl", "901"], { RTCGW_TOKEN_SECRET: SECRET }, /lifetime must be a whole number of seconds, 1-900/],
      [["--ttl", "soon"], { RTCGW_TOKEN_SECRET: SECRET }, /--ttl takes a whole number of seconds/],
      [["--profile", "video"], { RTCGW_TOKEN_SECRET: SECRET }, /profile must be one of echo, record, bridge/],
      [["--profile", "bridge"], { RTCGW_TOKEN_SECRET: SECRET }, /must name the application's URL/],
      [["--bridge", "https://agent.example.com/"], { RTCGW_TOKEN_SECRET: SECRET }, /ws:\/\/ or wss:\/\//],
      [["--bridge-param", "a=b"], { RTCGW_TOKEN_SECRET: SECRET }, /--bridge-param needs --bridge/],
      [
        ["--start-param", "a=b"],
        { RTCGW_TOKEN_SECRET: SECRET },
        /--start-param and --bridge-protocol need --bridge/,
      ],
      [
        ["--bridge", "ws://a.example/", "--start-param", "a b=c"],
        { RTCGW_TOKEN_SECRET: SECRET },
        /bridge parameter names/,
      ],
      [
        ["--bridge", "ws://a.example/", "--bridge-protocol", "sip"],
        { RTCGW_TOKEN_SECRET: SECRET },
        /rtcgw or twilio/,
      ],
    ];
    for (const [args, env, message] of cases) {
      const r = token(args, env);
      expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe("");
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr).not.toContain("short-secret-value");
    }
  });
});

describe("rtcgw dev with RTCGW_TOKEN_SECRET", () => {
  it("creates a session for a CLI-minted token and for one from POST /dev/token, each once; no token is 401", async () => {
    const child = spawn(process.execPath, [BIN, "dev"], {
      env: {
        ...clean(),
        PORT: "0",
        LOG_LEVEL: "warn",
        RTCGW_TOKEN_SECRET: SECRET,
        RECORDINGS_DIR: mkdtempSync(join(tmpdir(), "rtcgw-cli-token-")),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
    });
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      const deadline = Date.now() + 45_000;
      const printed = () => /demo page\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1];
      while (!printed() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const url = printed()!;
      expect(url).toBeDefined();
      expect(out).toMatch(/auth\s+Bearer: a client token/);

      const offer = async (bearer?: string) => {
        const c = await ClientPeer.create({ direction: "sendrecv", dataChannel: false });
        peers.push(c);
        return fetch(`${url}/v1/sessions?profile=echo`, {
          method: "POST",
          headers: {
            "content-type": "application/sdp",
            ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
          },
          body: c.offer,
        });
      };
      const none = await offer();
      expect(none.status).toBe(401);
      expect(((await none.json()) as { reason: string }).reason).toMatch(/client token/);

      const cli = token(["--profile", "echo"]).stdout.trim();
      expect((await offer(cli)).status).toBe(201);
      expect((await offer(cli)).status).toBe(403);

      const dev = await fetch(`${url}/dev/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ profile: "echo" }),
      });
      expect(dev.status).toBe(200);
      const { token: devToken } = (await dev.json()) as { token: string };
      const claims = await verifyClientToken(SECRET, devToken, Date.now());
      expect(claims).toMatchObject({ profiles: ["echo"], record: false });
      expect((await offer(devToken)).status).toBe(201);
      // the page's echo token cannot record
      const recPeer = await ClientPeer.create({ dataChannel: false });
      peers.push(recPeer);
      const rec = await fetch(`${url}/v1/sessions?profile=record`, {
        method: "POST",
        headers: { "content-type": "application/sdp", authorization: `Bearer ${devToken}` },
        body: recPeer.offer,
      });
      expect(rec.status).toBe(403);
      // the page's agent choices: a token that names the example parrot (URL and protocol) and
      // allows the call's two-channel recording
      const agents = (await (await fetch(`${url}/agent.json`)).json()) as { rtcgw: string; twilio: string };
      for (const [profile, protocol, agentUrl] of [
        ["agent", "rtcgw", agents.rtcgw],
        ["agent-twilio", "twilio", agents.twilio],
      ] as const) {
        const r = await fetch(`${url}/dev/token`, { method: "POST", body: JSON.stringify({ profile }) });
        expect(r.status).toBe(200);
        const c = await verifyClientToken(SECRET, ((await r.json()) as { token: string }).token, Date.now());
        expect(c).toMatchObject({
          profiles: ["bridge"],
          record: true,
          bridge: agentUrl,
          bridgeProtocol: protocol,
        });
      }
      // /dev/token checks what it is asked
      const bad = await fetch(`${url}/dev/token`, { method: "POST", body: '{"profile":"bridge"}' });
      expect(bad.status).toBe(400);
      expect((await fetch(`${url}/dev/token`)).status).toBe(405);
    } finally {
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  }, 60_000);

  it("without RTCGW_TOKEN_SECRET, POST /dev/token is 404 (the demo page then posts with no token)", async () => {
    const child = spawn(process.execPath, [BIN, "dev"], {
      env: {
        ...clean(),
        PORT: "0",
        LOG_LEVEL: "warn",
        RECORDINGS_DIR: mkdtempSync(join(tmpdir(), "rtcgw-cli-token-")),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
    });
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      const deadline = Date.now() + 45_000;
      const printed = () => /demo page\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1];
      while (!printed() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const r = await fetch(`${printed()}/dev/token`, { method: "POST", body: '{"profile":"echo"}' });
      expect(r.status).toBe(404);
      expect(((await r.json()) as { error: string }).error).toBe("no-token-secret");
      expect(out).toMatch(/auth\s+open/);
    } finally {
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  }, 60_000);
});
