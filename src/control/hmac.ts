// HMAC-SHA256 request signing for the control API.
// Signed string: TARGET-NODE-ID \n METHOD \n PATH(+query) \n TIMESTAMP(ms) \n NONCE \n SHA256-hex(body)
// A request older (or newer) than 30 s, or whose nonce was already seen in that window, is refused.
// The target node's id is signed (and sent, X-Rtcgw-Node) so a request captured on its way to one
// node cannot be replayed to another: every node (every worker of a supervisor) keeps its own
// nonce cache, so without the target a request could be played once to each of them.
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { CONTROL_HEADERS } from "./contract.js";

export const MAX_SKEW_MS = 30_000;

function canonical(
  target: string,
  method: string,
  path: string,
  timestamp: string,
  nonce: string,
  body: string | Uint8Array,
) {
  const bodyHash = createHash("sha256").update(body).digest("hex");
  return `${target}\n${method.toUpperCase()}\n${path}\n${timestamp}\n${nonce}\n${bodyHash}`;
}

/** Headers to add to a control request for the node whose id is `target`. */
export function signRequest(
  secret: string,
  target: string,
  method: string,
  path: string,
  body: string | Uint8Array = "",
  now = Date.now(),
): Record<string, string> {
  const timestamp = String(now);
  const nonce = randomBytes(16).toString("hex");
  const signature = createHmac("sha256", secret)
    .update(canonical(target, method, path, timestamp, nonce, body))
    .digest("hex");
  return {
    [CONTROL_HEADERS.node]: target,
    [CONTROL_HEADERS.timestamp]: timestamp,
    [CONTROL_HEADERS.nonce]: nonce,
    [CONTROL_HEADERS.signature]: signature,
  };
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

/** Verifies signatures and remembers nonces for the skew window (replay protection). */
export class RequestVerifier {
  private readonly seen = new Map<string, number>();
  /** `nodeId`: this node's id; a request signed for any other node is refused */
  constructor(
    private readonly secret: string,
    private readonly nodeId: string,
    private readonly maxSkewMs = MAX_SKEW_MS,
  ) {}

  verify(
    method: string,
    path: string,
    headers: Record<string, string | string[] | undefined>,
    body: string | Uint8Array,
    now = Date.now(),
  ): VerifyResult {
    const h = (n: string) => {
      const v = headers[n];
      return Array.isArray(v) ? v[0] : v;
    };
    const timestamp = h(CONTROL_HEADERS.timestamp);
    const nonce = h(CONTROL_HEADERS.nonce);
    const signature = h(CONTROL_HEADERS.signature);
    const target = h(CONTROL_HEADERS.node);
    if (!timestamp || !nonce || !signature || !target)
      return { ok: false, reason: "missing signature headers" };
    if (target !== this.nodeId) return { ok: false, reason: "request signed for another node" };
    if (
      !/^\d{1,16}$/.test(timestamp) ||
      !/^[0-9a-f]{16,64}$/.test(nonce) ||
      !/^[0-9a-f]{64}$/.test(signature)
    )
      return { ok: false, reason: "malformed signature headers" };
    const ts = Number(timestamp);
    if (Math.abs(now - ts) > this.maxSkewMs)
      return { ok: false, reason: "request timestamp outside the 30 s window" };
    const expected = createHmac("sha256", this.secret)
      .update(canonical(target, method, path, timestamp, nonce, body))
      .digest();
    if (!timingSafeEqual(expected, Buffer.from(signature, "hex")))
      return { ok: false, reason: "bad signature" };
    this.prune(now);
    if (this.seen.has(nonce)) return { ok: false, reason: "replayed request" };
    this.seen.set(nonce, ts);
    return { ok: true };
  }

  private prune(now: number) {
    if (this.seen.size < 1024) return;
    for (const [n, ts] of this.seen) if (Math.abs(now - ts) > this.maxSkewMs) this.seen.delete(n);
  }
}
