// A TURN Allocate over TLS, as a client handed a `turns:` URL does it (RFC 8656 §7.1 over TLS,
// RFC 8489 long-term credentials): TLS to the URL's host and port with the certificate verified
// against that host (the CA is the test's self-signed certificate), an unauthenticated Allocate
// answered 401 with REALM and NONCE, then the Allocate with USERNAME, REALM, NONCE and
// MESSAGE-INTEGRITY (key MD5(username:realm:password)). Neither node-datachannel (libjuice: TURN
// over UDP only) nor Chromium outside a page can be pointed at a turns: server here, so the
// rehearsal checks coturn's TLS listener and the handed-out credential with this.
import { createHash, createHmac, randomBytes } from "node:crypto";
import { connect } from "node:tls";

const MAGIC = 0x2112a442;
const ALLOCATE = 0x0003;
const ATTR = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  REALM: 0x0014,
  NONCE: 0x0015,
};
const XOR_RELAYED_ADDRESS = 0x0016;
const REQUESTED_TRANSPORT = 0x0019;

function attr(type: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(value.length, 2);
  return Buffer.concat([head, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

function message(type: number, attrs: Buffer[], integrityKey?: Buffer): Buffer {
  const txid = randomBytes(12);
  const body = Buffer.concat(attrs);
  const head = Buffer.alloc(20);
  head.writeUInt16BE(type, 0);
  head.writeUInt32BE(MAGIC, 4);
  txid.copy(head, 8);
  if (!integrityKey) {
    head.writeUInt16BE(body.length, 2);
    return Buffer.concat([head, body]);
  }
  // the length covers MESSAGE-INTEGRITY (24 bytes) when the HMAC is computed
  head.writeUInt16BE(body.length + 24, 2);
  const mac = createHmac("sha1", integrityKey)
    .update(Buffer.concat([head, body]))
    .digest();
  return Buffer.concat([head, body, attr(ATTR.MESSAGE_INTEGRITY, mac)]);
}

interface Parsed {
  type: number;
  attrs: Map<number, Buffer>;
}

function parse(b: Buffer): Parsed {
  const attrs = new Map<number, Buffer>();
  let off = 20;
  const end = 20 + b.readUInt16BE(2);
  while (off + 4 <= end) {
    const t = b.readUInt16BE(off);
    const len = b.readUInt16BE(off + 2);
    attrs.set(t, b.subarray(off + 4, off + 4 + len));
    off += 4 + len + ((4 - (len % 4)) % 4);
  }
  return { type: b.readUInt16BE(0), attrs };
}

export interface TlsAllocation {
  /** the relayed transport address coturn allocated */
  relayed: string;
  /** the TLS protocol negotiated */
  protocol: string;
}

/** allocate on `turns:host:port` with a TURN REST API credential; rejects with coturn's error */
export async function allocateOverTls(o: {
  url: string;
  username: string;
  credential: string;
  /** PEM of the CA that signed the server's certificate */
  ca: string;
  timeoutMs?: number;
}): Promise<TlsAllocation> {
  const m = /^turns:([^:?]+):(\d+)\?transport=tcp$/.exec(o.url);
  if (!m) throw new Error(`not a turns: URL over TCP: ${o.url}`);
  const [host, port] = [m[1]!, Number(m[2])];
  const socket = connect({ host, port, ca: o.ca, ...(/^[\d.]+$/.test(host) ? {} : { servername: host }) });
  socket.setTimeout(o.timeoutMs ?? 5000, () => socket.destroy(new Error(`${o.url}: timed out`)));
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", () => resolve());
      socket.once("error", reject);
    });
    let buffered = Buffer.alloc(0);
    const waiting: ((b: Buffer) => void)[] = [];
    socket.on("data", (d: Buffer) => {
      buffered = Buffer.concat([buffered, d]);
      while (buffered.length >= 20 && buffered.length >= 20 + buffered.readUInt16BE(2)) {
        const n = 20 + buffered.readUInt16BE(2);
        const one = buffered.subarray(0, n);
        buffered = buffered.subarray(n);
        waiting.shift()?.(one);
      }
    });
    const ask = (msg: Buffer) =>
      new Promise<Parsed>((resolve, reject) => {
        socket.once("error", reject);
        socket.once("close", () => reject(new Error(`${o.url}: closed`)));
        waiting.push((b) => resolve(parse(b)));
        socket.write(msg);
      });
    const transport = attr(REQUESTED_TRANSPORT, Buffer.from([17, 0, 0, 0]));
    const first = await ask(message(ALLOCATE, [transport]));
    const realm = first.attrs.get(ATTR.REALM);
    const nonce = first.attrs.get(ATTR.NONCE);
    if (first.type !== 0x0113 || !realm || !nonce)
      throw new Error(`${o.url}: the unauthenticated Allocate was not challenged (type ${first.type})`);
    const key = createHash("md5").update(`${o.username}:${realm.toString()}:${o.credential}`).digest();
    const second = await ask(
      message(
        ALLOCATE,
        [
          transport,
          attr(ATTR.USERNAME, Buffer.from(o.username)),
          attr(ATTR.REALM, realm),
          attr(ATTR.NONCE, nonce),
        ],
        key,
      ),
    );
    if (second.type !== 0x0103) {
      const e = second.attrs.get(ATTR.ERROR_CODE);
      const code = e ? e[2]! * 100 + e[3]! : 0;
      throw new Error(`${o.url}: Allocate refused: ${code} ${e?.subarray(4).toString() ?? ""}`);
    }
    const x = second.attrs.get(XOR_RELAYED_ADDRESS);
    if (!x) throw new Error(`${o.url}: no XOR-RELAYED-ADDRESS in the success response`);
    const relayPort = x.readUInt16BE(2) ^ (MAGIC >>> 16);
    const ip = (x.readUInt32BE(4) ^ MAGIC) >>> 0;
    return {
      relayed: `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}:${relayPort}`,
      protocol: socket.getProtocol() ?? "",
    };
  } finally {
    socket.destroy();
  }
}
