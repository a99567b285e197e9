// Proof that it is this gateway dialing: every dial of an agent's socket carries an HMAC-SHA256
// over the URL dialed and the time, keyed with RTCGW_BRIDGE_SECRET (the agent holds the same
// secret), as Twilio signs its webhooks with X-Twilio-Signature. The URL alone cannot prove it:
// the caller chose it. Verification (the agent's side) is shown in docs/bridge.md.
import { createHmac } from "node:crypto";

export const SIGNATURE_HEADER = "x-rtcgw-signature";
export const TWILIO_SIGNATURE_HEADER = "x-twilio-signature";
export const TIMESTAMP_HEADER = "x-rtcgw-timestamp";

/** what is signed: the URL exactly as dialed, a newline, the unix time in seconds */
export function signedText(url: string, timestamp: number): string {
  return `${url}\n${timestamp}`;
}

/** base64 HMAC-SHA256 of signedText(url, timestamp) */
export function bridgeSignature(secret: string, url: string, timestamp: number): string {
  return createHmac("sha256", secret).update(signedText(url, timestamp)).digest("base64");
}

/** the headers of one dial, signed now */
export function signatureHeaders(secret: string, url: string, nowMs = Date.now()): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: bridgeSignature(secret, url, timestamp),
  };
}

/**
 * Twilio's own scheme, as it signs the WebSocket upgrade of a Media Stream and its webhooks: base64
 * HMAC-SHA1 of the URL (a GET has no form parameters to append), keyed with the account's auth
 * token. A Twilio agent that checks it (`twilio.validateRequest(authToken, signature, url, {})`,
 * as OpenAI's Twilio example does) runs unchanged with RTCGW_BRIDGE_SECRET as its auth token. It
 * has no timestamp: a replayed dial is not refused by it (X-Rtcgw-Signature's check does that).
 */
export function twilioSignature(secret: string, url: string): string {
  return createHmac("sha1", secret).update(url).digest("base64");
}
