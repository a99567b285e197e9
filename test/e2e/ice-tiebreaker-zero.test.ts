// The media node's side of "Chromium over TURN/TCP or TLS never connects" (docs/signaling.md,
// "TURN over TCP and TLS"). Chromium's TCP/TLS relay ports send their ICE checks with an
// ICE-CONTROLLING tie-breaker of 0; RFC 8445 (§16.1: "a 64-bit unsigned integer") allows it. The
// node's ICE agent, libjuice in node-datachannel 0.33.4, reads a zero tie-breaker as an absent
// attribute and answers 400, and Chromium drops the pair on a 400 (libjuice issue #355).
//
// Here, without a browser: a real offer is posted, then Binding requests exactly like Chromium's
// (USERNAME, PRIORITY, ICE-CONTROLLING, USE-CANDIDATE, MESSAGE-INTEGRITY with the node's ICE
// password, FINGERPRINT) go from a UDP socket to the node's host candidate — one with a random
// tie-breaker, one with 0. The first test is what must hold; the second pins the KNOWN DEFECT:
// when a node-datachannel upgrade makes it fail (the node answers 200), the defect is gone — turn
// browser-turn.test.ts over `?transport=tcp` and update the docs.
import { createHmac, randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { parse } from "sdp-transform";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServedLocalGateway, startLocalGateway } from "../../src/cli/local-gateway.js";
import { loadConfig } from "../../src/config/index.js";
import { createLogger } from "../../src/log/index.js";
import { ClientPeer } from "../support/client-peer.js";

const MAGIC = 0x2112a442;
let work: string;
let gw: ServedLocalGateway;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "rtcgw-tiebreaker-"));
  const config = loadConfig({
    RECORDINGS_DIR: join(work, "recordings"),
    MEDIA_BIND_ADDRESS: "127.0.0.1",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
  });
  gw = await startLocalGateway({ config, logger: createLogger({ level: config.LOG_LEVEL }) });
}, 20_000);

afterAll(async () => {
  await gw?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function attr(type: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(value.length, 2);
  return Buffer.concat([head, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

/** an RFC 8489 Binding request as an ICE controlling agent sends it (RFC 8445 §7.1) */
function bindingRequest(
  username: string,
  password: string,
  tieBreaker: bigint,
): { txid: Buffer; msg: Buffer } {
  const txid = randomBytes(12);
  const priority = Buffer.alloc(4);
  priority.writeUInt32BE(0x017c_ffff, 0); // a relayed candidate's priority, as Chromium's
  const tb = Buffer.alloc(8);
  tb.writeBigUInt64BE(tieBreaker, 0);
  let body = Buffer.concat([
    attr(0x0006, Buffer.from(username)), // USERNAME
    attr(0x0024, priority), // PRIORITY
    attr(0x802a, tb), // ICE-CONTROLLING
    attr(0x0025, Buffer.alloc(0)), // USE-CANDIDATE
  ]);
  const header = (length: number) => {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(0x0001, 0);
    h.writeUInt16BE(length, 2);
    h.writeUInt32BE(MAGIC, 4);
    txid.copy(h, 8);
    return h;
  };
  // MESSAGE-INTEGRITY: HMAC-SHA1 (short-term key: the ICE password) over the message so far, with
  // the length field already counting the attribute
  const mi = createHmac("sha1", password)
    .update(Buffer.concat([header(body.length + 24), body]))
    .digest();
  body = Buffer.concat([body, attr(0x0008, mi)]);
  // FINGERPRINT: CRC-32 of the message so far XOR 0x5354554e, the length counting it
  const fp = Buffer.alloc(4);
  fp.writeUInt32BE((crc32(Buffer.concat([header(body.length + 8), body])) ^ 0x5354554e) >>> 0, 0);
  body = Buffer.concat([body, attr(0x8028, fp)]);
  return { txid, msg: Buffer.concat([header(body.length), body]) };
}

/** the node's answer to one request, from a socket of its own (the node's UDP mux maps a source
 *  address to the session it first checked): its class (success/error) and error code */
async function ask(msg: Buffer, txid: Buffer, port: number): Promise<{ type: number; errorCode?: number }> {
  const sock: Socket = createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  return new Promise<{ type: number; errorCode?: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.off("message", onMessage);
      reject(new Error("the node never answered the Binding request"));
    }, 3000);
    const onMessage = (m: Buffer) => {
      if (m.length < 20 || !m.subarray(8, 20).equals(txid)) return; // the node's own checks
      clearTimeout(timer);
      sock.off("message", onMessage);
      const type = m.readUInt16BE(0);
      let errorCode: number | undefined;
      for (let o = 20; o + 4 <= m.length; ) {
        const t = m.readUInt16BE(o);
        const len = m.readUInt16BE(o + 2);
        if (t === 0x0009) errorCode = m[o + 6]! * 100 + m[o + 7]!;
        o += 4 + len + ((4 - (len % 4)) % 4);
      }
      resolve({ type, errorCode });
    };
    sock.on("message", onMessage);
    sock.send(msg, port, "127.0.0.1");
  }).finally(() => sock.close());
}

/** a real offer posted; the node's ICE credentials and host port from its answer */
async function session(): Promise<{ username: string; password: string; port: number }> {
  const client = await ClientPeer.create({ direction: "sendonly", dataChannel: false, autoSend: false });
  const offer = parse(client.offer);
  await client.close(); // its ufrag stays the one the node expects; the checks come from ask()
  const res = await fetch(`${gw.emulator.url}/v1/whip?profile=echo`, {
    method: "POST",
    headers: { "content-type": "application/sdp" },
    body: client.offer,
  });
  expect(res.status).toBe(201);
  const answer = parse(await res.text());
  const m = answer.media[0]!;
  const host = m.candidates!.find((c) => c.type === "host" && c.ip === "127.0.0.1")!;
  const clientUfrag = (offer.media[0]!.iceUfrag ?? offer.iceUfrag)!;
  return {
    username: `${m.iceUfrag ?? answer.iceUfrag}:${clientUfrag}`,
    password: (m.icePwd ?? answer.icePwd)!,
    port: host.port,
  };
}

describe("the node's ICE agent and the ICE-CONTROLLING tie-breaker", () => {
  it("answers a controlling peer's check with a random tie-breaker: success", async () => {
    const s = await session();
    const { txid, msg } = bindingRequest(s.username, s.password, randomBytes(8).readBigUInt64BE() | 1n);
    const r = await ask(msg, txid, s.port);
    expect(r.type).toBe(0x0101); // Binding success response
  });

  it("KNOWN DEFECT (libjuice #355): a tie-breaker of 0 — what Chromium's TURN/TCP and TLS ports send — is answered 400", async () => {
    const s = await session();
    const { txid, msg } = bindingRequest(s.username, s.password, 0n);
    const r = await ask(msg, txid, s.port);
    expect(r.type).toBe(0x0111); // Binding error response
    expect(r.errorCode).toBe(400);
  });
});
