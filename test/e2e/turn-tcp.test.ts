// TURN for a client whose network blocks all UDP: the only way to the TURN server is TCP, or TLS.
// Debian's coturn on loopback started with `--no-udp` (no UDP client listener at all: a UDP
// allocation is impossible; its relay towards the media node is UDP, as in a deployment) and a TLS
// listener with a certificate this test makes (subjectAltName IP:127.0.0.1). `rtcgw dev`'s stack
// (emulator over HTTP, a real media node on 127.0.0.1, the memory registry) hands the TURN URL
// with a credential minted per 201 as `Link: rel="ice-server"`.
//
// The client is aiortc (aioice's TURN client speaks TCP and TLS; see aiortc_turn_client.py): relay
// only, with only IPv6 host sockets that cannot reach the node's 127.0.0.1, so the relayed path is
// its only path. Its 440 Hz is recorded and checked against what it sent (length and pitch).
//
// Not here, and why (docs/signaling.md "TURN"):
// - Chromium over TURN/TCP or TLS: its TCP/TLS relay ports send their connectivity checks with an
//   ICE-CONTROLLING tie-breaker of 0 (seen on the wire with tshark), which RFC 8445 allows; the
//   media node's ICE agent, libjuice (node-datachannel 0.33.4 → libdatachannel 0.24.5), reads a
//   zero tie-breaker as "attribute absent", answers 400 ("Controlling and controlled attributes
//   mismatch in request"), and Chromium kills the pair on that 400. libjuice issue #355, fix
//   proposed in PR #356, in no node-datachannel release yet.
// - node-datachannel as the client: libjuice speaks TURN over UDP only.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServedLocalGateway, startLocalGateway } from "../../src/cli/local-gateway.js";
import { type Config, loadConfig } from "../../src/config/index.js";
import { createLogger } from "../../src/log/index.js";
import { type Coturn, startCoturn } from "../support/coturn.js";
import { runChild } from "../support/run-child.js";
import { dominantHz, readWav } from "./wav.js";

const PY = "/usr/bin/python3";
const CLIENT = fileURLToPath(new URL("./aiortc_turn_client.py", import.meta.url));
const TOKEN = "turn-tcp-api-token-0123456789";
const TURN_SECRET = "turn-tcp-shared-secret-0123456";

let work: string;
let turn: Coturn;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "rtcgw-turn-tcp-"));
  // a self-signed certificate for coturn's TLS listener, valid for the address the client dials
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", join(work, "turn.key"), "-out", join(work, "turn.pem"), "-days", "1",
    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
  ], { stdio: "ignore" }); // biome-ignore format: argv
  turn = await startCoturn(TURN_SECRET, {
    noUdp: true,
    tls: { certFile: join(work, "turn.pem"), keyFile: join(work, "turn.key") },
  });
}, 30_000);

afterAll(async () => {
  await turn?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** What aiortc_turn_client.py prints. */
interface ClientReport {
  status: number;
  error?: string;
  location: string;
  iceServers: { urls: string; username: string }[];
  localCandidates: { type: string; host: string; transport: string }[];
  gatherTimedOut?: boolean;
  connected: boolean;
  connectedAt: number;
  selected?: { local: string; remote: string; remoteHost: string };
  session: { state: string; stats: { packetsIn: number } };
  endedAt: number;
  deleteStatus: number;
}

async function withGateway<T>(turnUrl: string, run: (gw: ServedLocalGateway, config: Config) => Promise<T>) {
  const config = loadConfig({
    RECORDINGS_DIR: join(work, `recordings-${turnUrl.slice(0, 5)}`),
    MEDIA_BIND_ADDRESS: "127.0.0.1",
    RTCGW_API_TOKEN: TOKEN,
    RTCGW_TURN_SECRET: TURN_SECRET,
    RTCGW_TURN_URLS: turnUrl,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
  });
  const gw = await startLocalGateway({ config, logger: createLogger({ level: config.LOG_LEVEL }) });
  try {
    return await run(gw, config);
  } finally {
    await gw.close();
  }
}

async function runClient(gw: ServedLocalGateway, seconds: number): Promise<ClientReport> {
  const r = await runChild(
    PY,
    [CLIENT, `${gw.emulator.url}/v1/whip?profile=record`, TOKEN, String(seconds)],
    {
      // aioice's TLS uses Python's default verification: trust exactly the test's certificate
      env: { ...process.env, SSL_CERT_FILE: join(work, "turn.pem") },
    },
  );
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as ClientReport;
  } catch {
    throw new Error(`aiortc TURN client exited ${r.code}: ${r.stderr.slice(-3000)}`);
  }
}

async function waitForWav(config: Config, id: string): Promise<string> {
  const file = join(config.RECORDINGS_DIR, `${id}.wav`);
  const deadline = Date.now() + 10_000;
  let last = -1;
  while (Date.now() < deadline) {
    if (existsSync(file)) {
      const size = statSync(file).size;
      if (size === last) return file;
      last = size;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no finished recording for ${id}`);
}

/** the first line of coturn's log matching `re`, waited for (coturn logs a close a moment after it) */
async function coturnLine(re: RegExp): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const m = re.exec(turn.log());
    if (m) return m[0];
    if (Date.now() > deadline) throw new Error(`coturn never logged ${re}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function relayedCall(turnUrl: string, protocol: "TCP" | "TLS"): Promise<void> {
  await withGateway(turnUrl, async (_gw, config) => {
    const r = await runClient(_gw, 3);
    expect(r.status, r.error).toBe(201);
    // the client was told exactly this TURN server, with a credential minted for this session
    expect(r.iceServers.map((s) => s.urls)).toEqual([turnUrl]);
    const id = r.location.split("/").pop()!;
    expect(r.iceServers[0]!.username.split(":")[1]).toBe(id);
    // relay only: everything it gathered was allocated by coturn, reached over TCP/TLS
    expect(r.localCandidates.length).toBeGreaterThan(0);
    for (const c of r.localCandidates) expect(c.type).toBe("relay");
    expect(r.connected).toBe(true);
    expect(r.selected).toEqual({ local: "relay", remote: "host", remoteHost: "127.0.0.1" });
    expect(r.session.state).toBe("connected");
    expect(r.session.stats.packetsIn).toBeGreaterThan(100);
    expect(r.deleteStatus).toBe(200);
    // coturn's own account of this username's allocation: it came in on the TCP (TLS) port and
    // its TCP connection carried the call (rp: packets relayed from the client)
    const username = r.iceServers[0]!.username;
    const port = /:(\d+)\?/.exec(turnUrl)![1];
    const closed = await coturnLine(new RegExp(`closed \\(2nd stage\\), user <${username}>.*`));
    expect(closed).toContain(`local 127.0.0.1:${port},`);
    expect(closed).toContain(`reason: ${protocol === "TLS" ? "TLS/TCP" : "TCP"} connection closed`);
    const usage = await coturnLine(new RegExp(`: usage: realm=<[^>]*>, username=<${username}>, rp=(\\d+)`));
    expect(Number(/rp=(\d+)/.exec(usage)![1])).toBeGreaterThan(100);
    const opened = await coturnLine(new RegExp(`: new, realm=<[^>]*>, username=<${username}>.*`));
    if (protocol === "TLS") expect(opened).toMatch(/method=TLSv1\.[23]/);
    else expect(opened).not.toContain("cipher=");

    const wav = readWav(readFileSync(await waitForWav(config, id)));
    const seconds = wav.samples.length / wav.rate;
    const sentS = r.endedAt - r.connectedAt;
    // the recording starts with the first packet, a little after "connected" was seen
    expect(Math.abs(seconds - sentS), `WAV ${seconds} s, sent ~${sentS} s`).toBeLessThan(0.5);
    const mid = wav.samples.subarray(Math.floor(wav.rate * 0.5), Math.floor(wav.rate * 2.5));
    expect(Math.abs(dominantHz(mid, wav.rate) - 440)).toBeLessThanOrEqual(4);
  });
}

describe("TURN for a client whose network blocks UDP (coturn with no UDP listener)", () => {
  it("a UDP TURN client gets no allocation at all (the UDP way to the TURN server is closed)", {
    timeout: 40_000,
  }, async () => {
    const udpUrl = turn.tcpUrl.replace("?transport=tcp", "?transport=udp");
    await withGateway(udpUrl, async (gw) => {
      const r = await runClient(gw, 0);
      expect(r.status, r.error).toBe(201);
      expect(r.localCandidates).toEqual([]);
      expect(r.connected).toBe(false);
      expect(r.deleteStatus).toBe(200);
      // no allocation for that username ever reached coturn
      expect(turn.log()).not.toContain(`username=<${r.iceServers[0]!.username}>`);
    });
  });

  it("over TCP: a relay-only client connects with the 201's credential and its 440 Hz is recorded", {
    timeout: 60_000,
  }, async () => {
    await relayedCall(turn.tcpUrl, "TCP");
  });

  it("over TLS (turns:, a certificate the client verifies): it connects and its 440 Hz is recorded", {
    timeout: 60_000,
  }, async () => {
    await relayedCall(turn.tlsUrl!, "TLS");
  });
});
