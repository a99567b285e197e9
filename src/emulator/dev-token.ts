// Dev only (`rtcgw dev`, never a deployed function): POST /dev/token {"profile":"echo"|"record"|
// "agent"|"agent-twilio"} mints a client token for one call, as an application's backend would —
// an agent token names the example parrot the dev server runs (its URL and protocol, recording
// on two channels allowed), as a backend pins its agent — so the demo page shows
// the real flow — the page asks "its backend" for a token, then posts its offer with
// `Authorization: Bearer <client token>`; it never holds the API token. Without
// RTCGW_TOKEN_SECRET it answers 404 and the page posts with no token (creation is open in dev
// unless RTCGW_API_TOKEN is set).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Config } from "../config/index.js";
import { mintClientToken } from "../signaling/client-token-mint.js";
import type { DemoAgents } from "./static.js";

export const DEV_TOKEN_PATH = "/dev/token";
/** a demo call starts right after it gets its token */
const DEV_TOKEN_TTL_S = 60;
/** the demo page's choices: the two agents are the bridge profile dialing an example parrot */
const DEMO_PROFILES = ["echo", "record", "agent", "agent-twilio"] as const;
type DemoProfile = (typeof DEMO_PROFILES)[number];

type Extra = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export function devTokenEndpoint(config: Pick<Config, "RTCGW_TOKEN_SECRET">, agents: DemoAgents = {}): Extra {
  return async (req, res) => {
    if ((req.url ?? "").split("?")[0] !== DEV_TOKEN_PATH) return false;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(body));
    };
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      send(405, { error: "method-not-allowed", reason: 'POST /dev/token with {"profile":"echo"}' });
      return true;
    }
    if (!config.RTCGW_TOKEN_SECRET) {
      send(404, {
        error: "no-token-secret",
        reason: "rtcgw dev mints client tokens only when RTCGW_TOKEN_SECRET is set",
      });
      return true;
    }
    let profile: unknown;
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of req) {
        size += (c as Buffer).length;
        if (size > 1024) throw new Error("too large");
        chunks.push(c as Buffer);
      }
      profile = (JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as { profile?: unknown }).profile;
    } catch {
      send(400, { error: "bad-request", reason: 'the body must be JSON like {"profile":"echo"}' });
      return true;
    }
    if (!DEMO_PROFILES.includes(profile as DemoProfile)) {
      send(400, { error: "bad-profile", reason: `profile must be one of ${DEMO_PROFILES.join(", ")}` });
      return true;
    }
    const p = profile as DemoProfile;
    const twilio = p === "agent-twilio";
    const isAgent = p === "agent" || twilio;
    const agentUrl = isAgent ? (twilio ? agents.twilio : agents.rtcgw) : undefined;
    if (isAgent && !agentUrl) {
      send(404, {
        error: "no-demo-agent",
        reason: "no example agent is running (rtcgw dev runs them unless RTCGW_DEMO_AGENT=0)",
      });
      return true;
    }
    const minted = await mintClientToken({
      secret: config.RTCGW_TOKEN_SECRET,
      ttlSeconds: DEV_TOKEN_TTL_S,
      ...(agentUrl
        ? // the demo records agent calls on two channels (record=1): the token allows it
          { record: true, bridge: { url: agentUrl, protocol: twilio ? "twilio" : "rtcgw" } }
        : { profiles: [p as "echo" | "record"] }),
    });
    send(200, { token: minted.token, expiresAt: minted.expiresAt });
    return true;
  };
}

/** Several dev extras in order; the first that handles the request wins. */
export function chainExtras(...extras: Extra[]): Extra {
  return async (req, res) => {
    for (const e of extras) if (await e(req, res)) return true;
    return false;
  };
}
