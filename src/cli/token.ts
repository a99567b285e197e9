// `rtcgw token`: mint a short-lived client token for one call (what an application's backend
// hands a browser instead of the API token), signed with RTCGW_TOKEN_SECRET. The token alone goes
// to stdout (one line, for `$(rtcgw token …)`), or JSON with --json.
import { ConfigError, loadConfig } from "../config/index.js";
import type { MintProfile } from "../signaling/client-token.js";
import { ClientTokenOptionsError, mintClientToken } from "../signaling/client-token-mint.js";

export interface TokenOptions {
  profile?: string[];
  record?: boolean;
  rate?: string;
  bridge?: string;
  bridgeParam?: string[];
  startParam?: string[];
  bridgeProtocol?: string;
  ttl?: string;
  json?: boolean;
}

export async function runToken(o: TokenOptions): Promise<void> {
  const fail = (message: string): never => {
    process.stderr.write(`rtcgw token: ${message}\n`);
    process.exit(2);
  };
  let secret: string | undefined;
  try {
    // only the variable this command reads: the rest of the environment is not its business
    secret = loadConfig({ RTCGW_TOKEN_SECRET: process.env.RTCGW_TOKEN_SECRET }).RTCGW_TOKEN_SECRET;
  } catch (e) {
    if (e instanceof ConfigError) fail(e.problems.join("; "));
    throw e;
  }
  if (!secret)
    return fail("RTCGW_TOKEN_SECRET must be set (the secret the signaling verifies client tokens with)");

  const params: Record<string, string> = {};
  for (const p of o.bridgeParam ?? []) {
    const i = p.indexOf("=");
    if (i <= 0) fail(`--bridge-param takes key=value (got "${p}")`);
    params[p.slice(0, i)] = p.slice(i + 1);
  }
  if (Object.keys(params).length > 0 && !o.bridge) fail("--bridge-param needs --bridge <ws(s)://…>");
  const startParams: Record<string, string> = {};
  for (const p of o.startParam ?? []) {
    const i = p.indexOf("=");
    if (i <= 0) fail(`--start-param takes name=value (got "${p}")`);
    startParams[p.slice(0, i)] = p.slice(i + 1);
  }
  if ((o.startParam?.length || o.bridgeProtocol) && !o.bridge)
    fail("--start-param and --bridge-protocol need --bridge <ws(s)://…>");
  if (o.bridgeProtocol !== undefined && o.bridgeProtocol !== "rtcgw" && o.bridgeProtocol !== "twilio")
    fail(`--bridge-protocol is rtcgw or twilio (got "${o.bridgeProtocol}")`);
  if (o.rate !== undefined && !/^\d+$/.test(o.rate)) fail(`--rate takes a rate in Hz (got "${o.rate}")`);
  let ttlSeconds: number | undefined;
  if (o.ttl !== undefined) {
    ttlSeconds = Number(o.ttl);
    if (!/^\d+$/.test(o.ttl)) fail(`--ttl takes a whole number of seconds (got "${o.ttl}")`);
  }
  try {
    const minted = await mintClientToken({
      secret,
      ...(o.profile ? { profiles: o.profile as MintProfile[] } : {}),
      ...(o.record ? { record: true } : {}),
      ...(o.rate !== undefined ? { recordRate: Number(o.rate) } : {}),
      ...(o.bridge
        ? {
            bridge: {
              url: o.bridge,
              params,
              ...(o.startParam?.length ? { startParams } : {}),
              ...(o.bridgeProtocol ? { protocol: o.bridgeProtocol as "rtcgw" | "twilio" } : {}),
            },
          }
        : {}),
      ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
    });
    process.stdout.write(
      o.json
        ? `${JSON.stringify({ token: minted.token, expiresAt: minted.expiresAt, claims: minted.claims })}\n`
        : `${minted.token}\n`,
    );
  } catch (e) {
    if (e instanceof ClientTokenOptionsError) fail(e.message);
    throw e;
  }
}
