// TURN for a client with no direct path to the media node: `rtcgw dev`'s stack (emulator over
// HTTP, a real media node, the memory registry) configured with RTCGW_TURN_SECRET +
// RTCGW_TURN_URLS, and Debian's coturn on loopback sharing that secret (use-auth-secret). The
// client is node-datachannel forced to relay (`iceTransportPolicy: "relay"`): it announces only
// what coturn allocates for it, with the credential it parses from the 201's
// `Link: rel="ice-server"` header (RFC 9725 §4.6) — the test never computes a credential.
//
// "No direct path", on one machine without touching its firewall: libjuice's relay policy only
// stops it announcing host candidates — it still checks from its host socket, and on loopback
// that reaches the node. So the client lives on the IPv6 loopback (::1) and the node on the IPv4
// one (127.0.0.1): a socket bound to ::1 cannot send to 127.0.0.1 (ENETUNREACH), as a client
// behind a UDP-blocking network cannot reach the node. coturn listens on ::1 too and relays from
// 127.0.0.1 (RFC 6156: an allocation is IPv4 unless asked otherwise), so the relay is the only
// way through; the first test proves the direct way fails. (libjuice speaks TURN over UDP only;
// TURN over TCP/TLS, what a UDP-blocked browser uses, is coturn's and the browser's business —
// the gateway's part, the URL and the credential, is the same.)
//
// A WHIP client learns the ICE servers only from the 201, after its offer is made: it configures
// them before it starts gathering (a browser: createOffer → POST → setConfiguration →
// setLocalDescription, as medooze's whip.js does). libdatachannel's ICE servers are fixed when a
// peer is built, so the client here is built twice with one identity: the same DTLS certificate,
// ICE ufrag/pwd and SSRC, first without servers to write the offer, then with the 201's TURN
// server to gather and connect. The node sees one peer.
//
// The media node needs nothing for TURN (it has no TURN server configured; its answer carries its
// host candidate only): the client's relay sends to that host candidate and the node answers the
// relay's address as it would any peer's.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IceServer } from "node-datachannel";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServedLocalGateway, startLocalGateway } from "../../src/cli/local-gateway.js";
import { type Config, loadConfig } from "../../src/config/index.js";
import { createLogger } from "../../src/log/index.js";
import { ClientPeer } from "../support/client-peer.js";
import { type Coturn, startCoturn } from "../support/coturn.js";
import { dominantHz, readWav } from "./wav.js";

const TURN_SECRET = "turn-shared-secret-for-the-test";
let work: string;
let turn: Coturn;
let config: Config;
let gw: ServedLocalGateway;
const peers: ClientPeer[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "rtcgw-turn-"));
  // one fixed DTLS identity for the client's two builds (see the header)
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", join(work, "client.key"), "-out", join(work, "client.pem"), "-subj", "/CN=turn-client", "-days", "1",
  ], { stdio: "ignore" }); // biome-ignore format: argv
  turn = await startCoturn(TURN_SECRET);
  config = loadConfig({
    RECORDINGS_DIR: join(work, "recordings"),
    RTCGW_TURN_SECRET: TURN_SECRET,
    RTCGW_TURN_URLS: turn.url6,
    RTCGW_TURN_TTL: "600",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
  });
  gw = await startLocalGateway({ config, logger: createLogger({ level: config.LOG_LEVEL }) });
}, 20_000);

afterAll(async () => {
  for (const p of peers) await p.close();
  await gw?.close();
  await turn?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface LinkIceServer {
  url: string;
  params: Record<string, string>;
}

/** RFC 8288 Link values with rel="ice-server": `<url>; name="value"; …`, comma-separated. */
function iceServersOf(link: string | null): LinkIceServer[] {
  const out: LinkIceServer[] = [];
  for (const m of (link ?? "").matchAll(/<([^>]*)>((?:\s*;\s*[A-Za-z-]+="[^"]*")*)/g)) {
    const params: Record<string, string> = {};
    for (const p of m[2]!.matchAll(/([A-Za-z-]+)="([^"]*)"/g)) params[p[1]!.toLowerCase()] = p[2]!;
    if (params.rel === "ice-server") out.push({ url: m[1]!, params });
  }
  return out;
}

/** A turn: URL with the Link's credential, as libdatachannel takes it (its URL form cannot hold
 *  the ":" of a TURN REST username). */
function libdatachannelTurn(s: LinkIceServer): IceServer {
  const m = /^turn:(?:\[([0-9a-f:]+)\]|([^:?[]+)):(\d+)(?:\?transport=(udp|tcp))?$/i.exec(s.url);
  if (!m) throw new Error(`not a turn: URL this client can use: ${s.url}`);
  return {
    hostname: (m[1] ?? m[2])!,
    port: Number(m[3]),
    username: s.params.username!,
    password: s.params.credential!,
    relayType: m[4] === "tcp" ? "TurnTcp" : "TurnUdp",
  };
}

/** The offer, written by a first build of the client with no ICE server. */
async function offerFor(ice: { iceUfrag: string; icePwd: string }, ssrc: number): Promise<string> {
  const first = await ClientPeer.create({
    direction: "sendonly",
    dataChannel: false,
    autoSend: false,
    ssrc,
    ice,
    rtc: { certificatePemFile: join(work, "client.pem"), keyPemFile: join(work, "client.key") },
  });
  const offer = first.offer;
  await first.close();
  return offer;
}

/** The second build: same identity, on ::1 (no direct path), the 201's TURN server, relay only. */
async function relayClient(
  ice: { iceUfrag: string; icePwd: string },
  ssrc: number,
  server: IceServer | undefined,
): Promise<ClientPeer> {
  const c = await ClientPeer.create({
    direction: "sendonly",
    dataChannel: false,
    ssrc,
    ice,
    bindAddress: "::1",
    offerCandidates: true,
    gatherTimeoutMs: 5000,
    rtc: {
      iceServers: server ? [server] : [],
      iceTransportPolicy: "relay",
      certificatePemFile: join(work, "client.pem"),
      keyPemFile: join(work, "client.key"),
    },
  });
  peers.push(c);
  return c;
}

const newIce = () => ({ iceUfrag: randomBytes(6).toString("hex"), icePwd: randomBytes(16).toString("hex") });
const candidates = (sdp: string) => sdp.match(/^a=candidate:.*$/gm) ?? [];

async function post(offer: string): Promise<{ res: Response; id: string; answer: string }> {
  const res = await fetch(`${gw.emulator.url}/v1/whip?profile=record`, {
    method: "POST",
    headers: { "content-type": "application/sdp" },
    body: offer,
  });
  expect(res.status).toBe(201);
  return { res, id: res.headers.get("location")!.split("/").pop()!, answer: await res.text() };
}

async function waitForWav(id: string): Promise<string> {
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

describe("TURN (coturn on loopback, client forced to relay)", () => {
  it("without the TURN server the client cannot reach the node at all (the direct path is closed)", {
    timeout: 30_000,
  }, async () => {
    const ice = newIce();
    const ssrc = 0x7777;
    const { res, id, answer } = await post(await offerFor(ice, ssrc));
    const c = await relayClient(ice, ssrc, undefined);
    c.accept(answer);
    await new Promise((r) => setTimeout(r, 4_000));
    expect(c.state).not.toBe("connected");
    expect(c.stats.packetsSent).toBe(0);
    await deleteSession(id, res);
  });

  it("a relay-only client connects with the 201's TURN credential and its 440 Hz is recorded as long as it was sent", {
    timeout: 40_000,
  }, async () => {
    const ice = newIce();
    const ssrc = randomBytes(4).readUInt32BE(0) || 1;
    const { res, id, answer } = await post(await offerFor(ice, ssrc));

    // the Link header: the TURN URL with a TURN REST username/credential (RFC 9725 §4.6)
    const servers = iceServersOf(res.headers.get("link"));
    expect(servers.map((s) => s.url)).toEqual([turn.url6]);
    const p = servers[0]!.params;
    expect(p["credential-type"]).toBe("password");
    const [expiry, owner] = p.username!.split(":");
    expect(owner).toBe(id); // coturn's log names the session
    expect(Number(expiry) - Date.now() / 1000).toBeGreaterThan(590);
    expect(Number(expiry) - Date.now() / 1000).toBeLessThanOrEqual(600);
    expect(Buffer.from(p.credential!, "base64")).toHaveLength(20); // an HMAC-SHA1

    // the media node needs no TURN: its answer offers its host candidate, nothing relayed
    const nodeCandidates = candidates(answer);
    expect(nodeCandidates.length).toBeGreaterThan(0);
    for (const c of nodeCandidates) expect(c).toMatch(/ typ host/);

    const c = await relayClient(ice, ssrc, libdatachannelTurn(servers[0]!));
    // relay only: every candidate it gathered is one coturn allocated for it
    const own = candidates(c.offer);
    expect(own.length).toBeGreaterThan(0);
    for (const cand of own) expect(cand).toMatch(/ typ relay/);
    c.accept(answer);
    await c.connected(15_000);
    const pair = c.pc.getSelectedCandidatePair();
    expect(pair?.local.type).toBe("relay");
    expect(pair?.remote.type).toBe("host");
    expect(pair?.remote.address).toBe("127.0.0.1");
    // coturn allocated for this session's username (its own log says so)
    expect(turn.log()).toContain(`username=<${p.username}>`);

    await c.until(() => c.firstSentAt !== undefined, 5000, "first packet");
    await new Promise((r) => setTimeout(r, 3_000));
    const status = (await (
      await fetch(`${gw.emulator.url}/v1/sessions/${id}`, {
        headers: { authorization: `Bearer ${res.headers.get("rtcgw-session-token")}` },
      })
    ).json()) as { state: string };
    expect(status.state).toBe("connected");
    // what the client sent, by its own count: the RTP timestamps' span from its first packet to
    // its last — frames a late send clock skipped are a gap inside it (a wall-clock "sent until
    // the DELETE was posted" also counted what went out while a loaded machine carried the
    // DELETE: 0.177 s off once)
    c.stopSending();
    const sentS = ((c.lastSentFrame! - c.firstSentFrame! + 1) * 20) / 1000;
    await new Promise((r) => setTimeout(r, 100)); // its last packets through coturn, before the end
    const del = await fetch(`${gw.emulator.url}/v1/sessions/${id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${res.headers.get("rtcgw-session-token")}` },
    });
    expect(del.status).toBe(200);

    const wav = readWav(readFileSync(await waitForWav(id)));
    expect(wav.channels).toBe(1);
    const seconds = wav.samples.length / wav.rate;
    expect(Math.abs(seconds - sentS), `WAV ${seconds} s, sent ${sentS} s`).toBeLessThanOrEqual(0.04);
    const mid = wav.samples.subarray(Math.floor(wav.rate * 0.5), Math.floor(wav.rate * 2.5));
    expect(Math.abs(dominantHz(mid, wav.rate) - 440)).toBeLessThanOrEqual(4);
  });

  it("a wrong credential allocates nothing: no relay candidate, no connection, coturn refuses the username", {
    timeout: 30_000,
  }, async () => {
    const ice = newIce();
    const ssrc = 0x1234;
    const { res, id, answer } = await post(await offerFor(ice, ssrc));
    const server = libdatachannelTurn(iceServersOf(res.headers.get("link"))[0]!);
    // one flipped character of the credential the gateway handed out
    const pw = server.password!;
    const bad = { ...server, password: (pw[0] === "A" ? "B" : "A") + pw.slice(1) };
    await refused(ice, ssrc, bad, answer, server.username!);
    await deleteSession(id, res);
  });

  it("an expired credential allocates nothing (the gateway's clock set 2 h back mints one that expired 1 h 50 min ago)", {
    timeout: 30_000,
  }, async () => {
    gw.setSignaling({ ...gw.signaling, now: () => Date.now() - 2 * 3600_000 });
    try {
      const ice = newIce();
      const ssrc = 0x4321;
      const { res, id, answer } = await post(await offerFor(ice, ssrc));
      const server = libdatachannelTurn(iceServersOf(res.headers.get("link"))[0]!);
      expect(Number(server.username!.split(":")[0])).toBeLessThan(Date.now() / 1000 - 6000);
      await refused(ice, ssrc, server, answer, server.username!);
      await deleteSession(id, res);
    } finally {
      gw.setSignaling(gw.signaling);
    }
  });
});

async function refused(
  ice: { iceUfrag: string; icePwd: string },
  ssrc: number,
  server: IceServer,
  answer: string,
  username: string,
): Promise<void> {
  const c = await relayClient(ice, ssrc, server);
  expect(candidates(c.offer)).toEqual([]);
  c.accept(answer);
  await new Promise((r) => setTimeout(r, 4_000));
  expect(c.state).not.toBe("connected");
  expect(c.stats.packetsSent).toBe(0);
  // coturn's own reason: with use-auth-secret it recomputes the credential from the username
  // and finds no match (a wrong HMAC, or a username whose expiry has passed)
  expect(turn.log()).toContain(`Cannot find credentials of user <${username}>`);
  expect(turn.log()).not.toContain(`username=<${username}>`);
}

async function deleteSession(id: string, res: Response): Promise<void> {
  const del = await fetch(`${gw.emulator.url}/v1/sessions/${id}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${res.headers.get("rtcgw-session-token")}` },
  });
  expect([200, 404]).toContain(del.status);
}

// The cloud layout: no static RTCGW_TURN_URLS — each media node runs coturn beside it and announces
// it in its own registry record (RTCGW_NODE_TURN_URLS, which the bootstrap writes from IMDS's
// public IP); the signaling hands out the TURN server of the node that took the session, with a
// credential minted from the TURN secret it shares with that coturn.
describe("TURN announced by the media node in its registry record (RTCGW_NODE_TURN_URLS)", () => {
  beforeAll(async () => {
    await gw.close();
    config = loadConfig({
      RECORDINGS_DIR: join(work, "recordings"),
      RTCGW_TURN_SECRET: TURN_SECRET,
      RTCGW_NODE_TURN_URLS: turn.url6,
      RTCGW_TURN_TTL: "600",
      LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
    });
    expect(config.RTCGW_TURN_URLS).toEqual([]);
    gw = await startLocalGateway({ config, logger: createLogger({ level: config.LOG_LEVEL }) });
  }, 20_000);

  it("the node's record carries its TURN URL; the 201 hands it out with a credential coturn accepts, and a relay-only client connects through it", {
    timeout: 40_000,
  }, async () => {
    const [rec] = await gw.registry.listNodes();
    expect(rec?.turnUrls).toEqual([turn.url6]);

    const ice = newIce();
    const ssrc = randomBytes(4).readUInt32BE(0) || 1;
    const { res, id, answer } = await post(await offerFor(ice, ssrc));
    const servers = iceServersOf(res.headers.get("link"));
    // exactly the node's TURN server (the signaling has none of its own here)
    expect(servers.map((s) => s.url)).toEqual([turn.url6]);
    const p = servers[0]!.params;
    expect(p["credential-type"]).toBe("password");
    expect(p.username!.split(":")[1]).toBe(id);

    const c = await relayClient(ice, ssrc, libdatachannelTurn(servers[0]!));
    for (const cand of candidates(c.offer)) expect(cand).toMatch(/ typ relay/);
    expect(candidates(c.offer).length).toBeGreaterThan(0);
    c.accept(answer);
    await c.connected(15_000);
    expect(c.pc.getSelectedCandidatePair()?.local.type).toBe("relay");
    expect(turn.log()).toContain(`username=<${p.username}>`);
    await c.until(() => c.firstSentAt !== undefined, 5000, "first packet");
    await new Promise((r) => setTimeout(r, 2_000));
    const status = (await (
      await fetch(`${gw.emulator.url}/v1/sessions/${id}`, {
        headers: { authorization: `Bearer ${res.headers.get("rtcgw-session-token")}` },
      })
    ).json()) as { state: string };
    expect(status.state).toBe("connected");
    await deleteSession(id, res);
    // what arrived through the relay was recorded: the 440 Hz the client sent
    const wav = readWav(readFileSync(await waitForWav(id)));
    const mid = wav.samples.subarray(Math.floor(wav.rate * 0.5), Math.floor(wav.rate * 1.5));
    expect(Math.abs(dominantHz(mid, wav.rate) - 440)).toBeLessThanOrEqual(4);
  });
});
