// What a session does with audio, chosen at offer time by query string (?profile=echo|record|bridge,
// ?rate=16000 for the recording's WAV rate, ?bridge=wss://… for the bridge profile).
import { bridgeUrlProblem } from "../control/bridge-url.js";
import { type CreateSessionRequest, type Profile, ProfileSchema } from "../control/contract.js";
import type { SessionKind } from "../registry/types.js";
import { badRequest } from "./errors.js";
import { type Event, query } from "./request.js";

const DEFAULT_PROFILE: Record<SessionKind, Profile> = { whip: "record", session: "echo", whep: "blackhole" };
const CHOOSABLE: readonly Profile[] = ["echo", "record", "bridge"];
const RATES = [8000, 16000, 24000, 48000] as const;

export type ProfileChoice = Pick<CreateSessionRequest, "profile" | "recordRate" | "bridgeUrl">;

export function profileFor(event: Event, kind: SessionKind): ProfileChoice {
  // a WHEP listener only receives: its profile is fixed
  if (kind === "whep") return { profile: DEFAULT_PROFILE.whep };
  const asked = query(event, "profile");
  const parsed = ProfileSchema.safeParse(asked ?? DEFAULT_PROFILE[kind]);
  if (!parsed.success || !CHOOSABLE.includes(parsed.data))
    throw badRequest("bad-profile", `profile must be one of ${CHOOSABLE.join(", ")}`);
  const out: ProfileChoice = { profile: parsed.data };

  const rate = query(event, "rate");
  if (rate !== undefined) {
    const n = Number(rate);
    if (!(RATES as readonly number[]).includes(n))
      throw badRequest("bad-rate", `rate must be one of ${RATES.join(", ")} (Hz)`);
    out.recordRate = n as (typeof RATES)[number];
  }
  if (parsed.data === "bridge") {
    // the whole value: query() keeps the first of comma-joined repeats, which would cut a URL
    const url = event.queryStringParameters?.bridge;
    if (!url)
      throw badRequest("bad-bridge-url", "the bridge profile needs ?bridge=ws://… or wss://… (URL-encoded)");
    const problem = bridgeUrlProblem(url);
    if (problem) throw badRequest("bad-bridge-url", problem);
    out.bridgeUrl = url;
  }
  return out;
}
