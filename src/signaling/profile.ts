// What a session does with audio, chosen at offer time by query string (?profile=echo|record|bridge,
// ?rate=16000 for the record profile's WAV rate, ?bridge=wss://… for the bridge profile with its
// bridge_protocol, bridge_rate, bridge_param_<name> and record options). Each option belongs to one
// profile; given with another (or to a WHEP listener, or given twice) it is a 400.
import { bridgeUrlProblem } from "../config/bridge-url.js";
import {
  BRIDGE_PARAM_MAX_VALUE,
  BRIDGE_PARAM_NAME_RE,
  BRIDGE_PARAMS_MAX,
  type CreateSessionRequest,
  type Profile,
  ProfileSchema,
} from "../control/contract.js";
import type { SessionKind } from "../registry/types.js";
import { badRequest } from "./errors.js";
import { type Event, query } from "./request.js";

const DEFAULT_PROFILE: Record<SessionKind, Profile> = { whip: "record", session: "echo", whep: "blackhole" };
const CHOOSABLE: readonly Profile[] = ["echo", "record", "bridge"];
const RATES = [8000, 16000, 24000, 48000] as const;

export type ProfileChoice = Pick<
  CreateSessionRequest,
  "profile" | "recordRate" | "bridgeUrl" | "bridgeProtocol" | "bridgeRate" | "bridgeParams" | "bridgeRecord"
>;
const BRIDGE_PROTOCOLS = ["rtcgw", "twilio"] as const;
const PARAM_PREFIX = "bridge_param_";

/** What a client token fixes for a bridge, used when the request leaves it out: the URL (?bridge=),
 *  the start parameters (?bridge_param_<name>=), the protocol (?bridge_protocol=) */
export interface BridgeDefaults {
  bridgeUrl?: string;
  bridgeParams?: Record<string, string>;
  bridgeProtocol?: "rtcgw" | "twilio";
  /** the record profile's WAV rate when the request names none (a client token's recordRate) */
  recordRate?: (typeof RATES)[number];
}

/** The query's profile options and the one profile each applies to: an option the chosen profile
 *  would ignore is refused (400 option-not-for-profile), never answered 201 for what will not happen. */
const OPTION_PROFILE: Record<string, Profile> = {
  rate: "record",
  record: "bridge",
  bridge: "bridge",
  bridge_protocol: "bridge",
  bridge_rate: "bridge",
};
const isOption = (k: string) => k in OPTION_PROFILE || k.startsWith(PARAM_PREFIX);
const optionProfile = (k: string): Profile => OPTION_PROFILE[k] ?? "bridge";
/** what to say beside "does not apply": the option the client may have meant */
const OPTION_HINT: Record<string, string> = {
  rate: "; a bridge's PCM rate is bridge_rate",
  record: "; the record profile records without it",
};

/** every query parameter a creating route (sessions, WHIP) reads: any other (a typo, `?rat=8000`)
 *  is refused, never ignored — the client meant something by it that would not happen */
const KNOWN_PARAMS = ["profile", ...Object.keys(OPTION_PROFILE)];

/** the known parameter a misspelt one is closest to (edit distance ≤ 2), if any */
function nearest(name: string): string | undefined {
  const k = name.toLowerCase();
  if (k.startsWith("bridge_param") || k.startsWith("bridge-param")) return `${PARAM_PREFIX}<name>`;
  let best: { name: string; d: number } | undefined;
  for (const known of KNOWN_PARAMS) {
    const d = editDistance(k, known);
    if (d <= 2 && (!best || d < best.d)) best = { name: known, d };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

export function profileFor(event: Event, kind: SessionKind, defaults: BridgeDefaults = {}): ProfileChoice {
  const given = Object.keys(event.queryStringParameters ?? {});
  // (a WHEP listener's URL is a player's: it may carry the player's own cache-busters)
  const unknown =
    kind === "whep" ? undefined : given.find((k) => !KNOWN_PARAMS.includes(k) && !k.startsWith(PARAM_PREFIX));
  if (unknown !== undefined) {
    const near = nearest(unknown);
    throw badRequest(
      "unknown-parameter",
      `?${unknown.slice(0, 64)} is not a parameter of this route${near ? ` (did you mean ?${near}?)` : ""}: it takes ${KNOWN_PARAMS.join(", ")} and ${PARAM_PREFIX}<name>`,
    );
  }
  // a WHEP listener only receives: its profile is fixed, and it takes none of the options
  if (kind === "whep") {
    const o = given.find((k) => k === "profile" || isOption(k));
    if (o)
      throw badRequest(
        "option-not-for-profile",
        `a WHEP listener takes no ?${o}: it hears the source session's audio as it is (leave ?${o} out)`,
      );
    return { profile: DEFAULT_PROFILE.whep };
  }
  const asked = query(event, "profile");
  const parsed = ProfileSchema.safeParse(asked ?? DEFAULT_PROFILE[kind]);
  if (!parsed.success || !CHOOSABLE.includes(parsed.data))
    throw badRequest("bad-profile", `profile must be one of ${CHOOSABLE.join(", ")}`);
  const out: ProfileChoice = { profile: parsed.data };
  for (const k of given)
    if (isOption(k) && optionProfile(k) !== parsed.data)
      throw badRequest(
        "option-not-for-profile",
        `?${k} applies to the ${optionProfile(k)} profile only, not ${parsed.data}${asked === undefined ? ` (this route's default)` : ""}: leave it out, or ask for profile=${optionProfile(k)}${OPTION_HINT[k] ?? ""}`,
      );

  const rate = query(event, "rate");
  if (rate !== undefined) {
    const n = Number(rate);
    if (!(RATES as readonly number[]).includes(n))
      throw badRequest("bad-rate", `rate must be one of ${RATES.join(", ")} (Hz)`);
    out.recordRate = n as (typeof RATES)[number];
  } else if (parsed.data === "record" && defaults.recordRate) out.recordRate = defaults.recordRate;
  if (parsed.data === "bridge") {
    // the whole value: query() keeps the first of comma-joined repeats, which would cut a URL
    const url = event.queryStringParameters?.bridge ?? defaults.bridgeUrl;
    if (!url)
      throw badRequest("bad-bridge-url", "the bridge profile needs ?bridge=ws://… or wss://… (URL-encoded)");
    const problem = bridgeUrlProblem(url);
    if (problem) throw badRequest("bad-bridge-url", problem);
    out.bridgeUrl = url;
    const options = bridgeOptions(event);
    if (!options.bridgeParams && defaults.bridgeParams && Object.keys(defaults.bridgeParams).length > 0)
      options.bridgeParams = { ...defaults.bridgeParams };
    if (!options.bridgeProtocol && defaults.bridgeProtocol) options.bridgeProtocol = defaults.bridgeProtocol;
    Object.assign(out, options);
  }
  return out;
}

/** ?bridge_protocol=rtcgw|twilio, ?bridge_rate=8000|16000|24000|48000, ?bridge_param_<name>=<value>,
 *  ?record=1 (the call on two channels) */
function bridgeOptions(event: Event): Partial<ProfileChoice> {
  const out: Partial<ProfileChoice> = {};
  const protocol = query(event, "bridge_protocol");
  if (protocol !== undefined) {
    if (!(BRIDGE_PROTOCOLS as readonly string[]).includes(protocol))
      throw badRequest(
        "bad-bridge-protocol",
        `bridge_protocol must be one of ${BRIDGE_PROTOCOLS.join(", ")}`,
      );
    out.bridgeProtocol = protocol as (typeof BRIDGE_PROTOCOLS)[number];
  }
  const rate = query(event, "bridge_rate");
  if (rate !== undefined) {
    const n = Number(rate);
    if (!(RATES as readonly number[]).includes(n))
      throw badRequest("bad-bridge-rate", `bridge_rate must be one of ${RATES.join(", ")} (Hz)`);
    if (out.bridgeProtocol === "twilio" && n !== 8000)
      throw badRequest("bad-bridge-rate", "the twilio protocol is 8000 Hz μ-law (leave bridge_rate out)");
    out.bridgeRate = n as (typeof RATES)[number];
  }
  const record = query(event, "record");
  if (record !== undefined) {
    if (record !== "1" && record !== "0")
      throw badRequest("bad-record", "record must be 1 (record the call) or 0");
    if (record === "1") out.bridgeRecord = true;
  }
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) {
    if (!k.startsWith(PARAM_PREFIX) || v === undefined) continue;
    const name = k.slice(PARAM_PREFIX.length);
    if (!BRIDGE_PARAM_NAME_RE.test(name))
      throw badRequest(
        "bad-bridge-param",
        `bridge parameter names are 1–64 letters, digits, _ or -: "${name}"`,
      );
    if (v.length > BRIDGE_PARAM_MAX_VALUE)
      throw badRequest(
        "bad-bridge-param",
        `bridge parameter "${name}" is longer than ${BRIDGE_PARAM_MAX_VALUE} characters`,
      );
    params[name] = v;
  }
  if (Object.keys(params).length > BRIDGE_PARAMS_MAX)
    throw badRequest("bad-bridge-param", `at most ${BRIDGE_PARAMS_MAX} bridge parameters`);
  if (Object.keys(params).length > 0) out.bridgeParams = params;
  return out;
}
