// Configuration: every environment variable of the README's "Configuration", parsed and validated once at start.
// A bad value stops the program with one message naming each bad variable (exit code 2).
// zod/mini (the same zod 4 core, functional API): it imports in a fraction of classic zod's time,
// and this file is on every function's cold start path (docs/signaling.md, "Cold start").
import * as z from "zod/mini";
import { parseAllowEntry } from "./bridge-url.js";

/** an environment string that is a decimal number (not " ", "0x10", "1e3", "Infinity": Number()
 *  takes those, and a blank became 0 — a port "any free one", a resume window "none"), with the
 *  variable's own message when it is not one */
const DECIMAL = /^\s*-?\d+(\.\d+)?\s*$/;
const envNumber = (message: string) =>
  z.pipe(z.string().check(z.regex(DECIMAL, { error: message })), z.coerce.number({ error: message }));

// 0 = any free port: the node registers the port it got, and `rtcgw dev` prints its URL
const port = (name: string, dflt: number) => {
  const message = `${name} must be a port number (0-65535, 0 = any free port)`;
  return z._default(
    envNumber(message).check(
      z.int(`${name} must be a whole port number (0-65535, 0 = any free port)`),
      z.minimum(0, message),
      z.maximum(65535, message),
    ),
    dflt,
  );
};

const seconds = (name: string, dflt: number) =>
  z._default(
    envNumber(`${name} must be a number of seconds`).check(
      z.positive(`${name} must be a positive number of seconds`),
      z.maximum(86_400, `${name} must be at most 86400 seconds`),
    ),
    dflt,
  );

const optionalString = z.pipe(
  z.optional(z.string()),
  z.transform((v: string | undefined) => (v === undefined || v.trim() === "" ? undefined : v.trim())),
);

/** an optional string that, when given, must pass `schema` */
const optionalThen = <T extends z.ZodMiniType<unknown, string>>(schema: T) =>
  z.pipe(optionalString, z.optional(schema));

/** a comma-separated list (items trimmed, empty ones dropped); `problem` names a bad item */
const commaList = (problem: (item: string) => string | undefined) =>
  z.pipe(
    optionalString,
    z.transform((v: string | undefined, ctx) => {
      if (!v) return [] as string[];
      const list = v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      for (const s of list) {
        const message = problem(s);
        if (message) ctx.issues.push({ code: "custom", message, input: v });
      }
      return list;
    }),
  );

/** an optional Secrets Manager secret ARN */
const secretArn = (name: string) =>
  optionalThen(
    z
      .string()
      .check(
        z.regex(
          /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/,
          `${name} must be a Secrets Manager secret ARN`,
        ),
      ),
  );

/** a turn:/turns: URL without credentials, nor what would break the Link header it is sent in
 *  (RFC 8288: "<", ">", ",", ";", quotes) — the registry's own rule (src/registry/validate.ts) */
const TURN_URL = /^turns?:[^\s@,;<>"]+$/;

/** the load guard's lines for a node worker (RTCGW_BUSY_AT, RTCGW_BUSY_LAG_MS): 85 % of its cores'
 *  CPU or of its loop; a media clock 50 ms late — well under the 100 ms after which a real-time
 *  sender skips a frame as stale */
export const DEFAULT_BUSY_AT = 0.85;
export const DEFAULT_BUSY_LAG_MS = 50;

/** RTCGW_RECORDINGS_MIN_FREE_MB's default (why: beside the variable in ConfigSchema) */
export const DEFAULT_RECORDINGS_MIN_FREE_MB = 256;

/** RFC 6750 §2.1's token68: what a client can send as `Authorization: Bearer <token>` (and what
 *  the signaling's Bearer parser accepts); a secret sent that way must be one */
export const BEARER_TOKEN_RE = /^[A-Za-z0-9\-._~+/]+=*$/;
export const BEARER_TOKEN_RULE =
  "may contain only A-Z a-z 0-9 - . _ ~ + / and, at its end only, = (RFC 6750 Bearer token characters: no space, !, $, :, @, quotes …; e.g. openssl rand -hex 24)";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** `memory` | `redis://…` / `rediss://…` | `dynamodb:TABLE` */
export type RegistryUrl =
  | { kind: "memory" }
  | { kind: "redis"; url: string }
  | { kind: "dynamodb"; table: string; endpoint?: string };

export function parseRegistryUrl(value: string): RegistryUrl {
  const v = value.trim();
  if (v === "" || v === "memory") return { kind: "memory" };
  if (/^rediss?:\/\/./.test(v)) {
    try {
      new URL(v);
    } catch {
      throw new Error("not a valid redis URL (expected redis://[user:password@]host:port[/db])");
    }
    return { kind: "redis", url: v };
  }
  const m = /^dynamodb:([A-Za-z0-9_.-]{3,255})(?:@(https?:\/\/.+))?$/.exec(v);
  if (m)
    return m[2] ? { kind: "dynamodb", table: m[1]!, endpoint: m[2] } : { kind: "dynamodb", table: m[1]! };
  throw new Error(
    `not a registry: expected "memory", "redis://host:port" or "dynamodb:TABLE" (table name 3-255 of A-Z a-z 0-9 _ . -)`,
  );
}

// sent to every client as it is (a Link header) and used by the node's own gathering: a STUN URL,
// never a credential. A turn: URL here went out with no credential — Chromium refuses to apply such
// a server (InvalidAccessError) — or, written turn:user:pass@host, with the password to every client
const iceServer = z.string().check(
  z.regex(/^stuns?:/, {
    error:
      "each ICE server must be a stun: URL (TURN goes in RTCGW_TURN_URLS with RTCGW_TURN_SECRET: a client needs a credential minted per session)",
  }),
  z.regex(/^stuns?:[^\s@,;<>"]+$/, {
    error: 'an ICE server must hold no credentials ("@") nor spaces, ",", ";", "<", ">" or quotes',
  }),
);

export const ConfigSchema = z.object({
  PORT: port("PORT", 8080),
  NODE_PORT: port("NODE_PORT", 9090),
  /** `rtcgw node`'s supervisor: one /metrics for all its workers (unset: none; 0 = any free port) */
  RTCGW_METRICS_PORT: optionalThen(
    envNumber("RTCGW_METRICS_PORT must be a port number (0-65535, 0 = any free port)").check(
      z.int("RTCGW_METRICS_PORT must be a whole port number"),
      z.minimum(0, "RTCGW_METRICS_PORT must be a port number (0-65535)"),
      z.maximum(65535, "RTCGW_METRICS_PORT must be a port number (0-65535)"),
    ),
  ),
  RTCGW_REGISTRY: z.pipe(
    z._default(z.string(), "memory"),
    z.transform((v: string, ctx) => {
      try {
        return parseRegistryUrl(v);
      } catch (e) {
        ctx.issues.push({ code: "custom", message: (e as Error).message, input: v });
        return z.NEVER;
      }
    }),
  ),
  RTCGW_NODE_SECRET: optionalThen(
    z.string().check(z.minLength(16, "RTCGW_NODE_SECRET must be at least 16 characters")),
  ),
  // it travels as `Authorization: Bearer <token>`: a character the Bearer grammar does not allow
  // would start fine and never authenticate (src/signaling/request.ts reads the header with it)
  RTCGW_API_TOKEN: optionalThen(
    z
      .string()
      .check(
        z.minLength(16, "RTCGW_API_TOKEN must be at least 16 characters"),
        z.regex(BEARER_TOKEN_RE, `RTCGW_API_TOKEN ${BEARER_TOKEN_RULE}`),
      ),
  ),
  MEDIA_UDP_PORT: z._default(
    envNumber("MEDIA_UDP_PORT must be a UDP port number (0 = any free port)").check(
      z.int("MEDIA_UDP_PORT must be a whole number"),
      z.minimum(0, "MEDIA_UDP_PORT must be 0-65535"),
      z.maximum(65535, "MEDIA_UDP_PORT must be 0-65535"),
    ),
    0,
  ),
  MEDIA_BIND_ADDRESS: z._default(
    z.ipv4({ error: "MEDIA_BIND_ADDRESS must be an IPv4 address" }),
    "127.0.0.1",
  ),
  // the control API's bind address: loopback by default (never public); a node in a VPC binds its
  // private address so the signaling functions (and, by the security group, nothing else) reach it
  NODE_BIND_ADDRESS: z._default(
    z.ipv4({ error: "NODE_BIND_ADDRESS must be an IPv4 address (the control API's bind address)" }),
    "127.0.0.1",
  ),
  MEDIA_ANNOUNCED_ADDRESS: optionalThen(z.ipv4({ error: "MEDIA_ANNOUNCED_ADDRESS must be an IPv4 address" })),
  RTCGW_ICE_SERVERS: commaList((s) => {
    const r = iceServer.safeParse(s);
    return r.success ? undefined : `RTCGW_ICE_SERVERS: "${s}": ${r.error.issues[0]!.message}`;
  }),
  // TURN for clients whose network blocks UDP (RFC 9725 §4.6, TURN REST API convention): signaling
  // mints a short-lived username/credential per 201 from this secret, which the TURN server
  // (coturn: use-auth-secret + static-auth-secret) shares. The media node itself never uses TURN.
  RTCGW_TURN_SECRET: optionalThen(
    z.string().check(z.minLength(16, "RTCGW_TURN_SECRET must be at least 16 characters")),
  ),
  RTCGW_TURN_URLS: commaList((s) =>
    TURN_URL.test(s)
      ? undefined
      : `RTCGW_TURN_URLS: "${s}" must be a turn: or turns: URL without credentials (e.g. turn:turn.example.com:3478?transport=udp or turns:turn.example.com:443?transport=tcp)`,
  ),
  // how long a minted TURN credential stays valid; a call keeps its allocation past it (coturn
  // checks the credential when allocating and refreshing), so this bounds only when it can start
  RTCGW_TURN_TTL: z._default(
    envNumber("RTCGW_TURN_TTL must be a number of seconds").check(
      z.int("RTCGW_TURN_TTL must be a whole number of seconds"),
      z.minimum(60, "RTCGW_TURN_TTL must be at least 60 seconds"),
      z.maximum(86_400, "RTCGW_TURN_TTL must be at most 86400 seconds"),
    ),
    3600,
  ),
  // signs and verifies short-lived client tokens (JWT HS256) minted by `rtcgw token`
  RTCGW_TOKEN_SECRET: optionalThen(
    z
      .string()
      .check(z.minLength(32, "RTCGW_TOKEN_SECRET must be at least 32 characters (256 bits for HS256)")),
  ),
  // recordings go to this S3 bucket when a session ends (the local files are deleted once uploaded)
  RTCGW_RECORDINGS_BUCKET: optionalThen(
    z
      .string()
      .check(
        z.regex(
          /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
          "RTCGW_RECORDINGS_BUCKET must be an S3 bucket name (3-63 of a-z 0-9 . -)",
        ),
      ),
  ),
  RTCGW_RECORDINGS_PREFIX: z._default(
    z
      .string()
      .check(
        z.regex(
          /^([A-Za-z0-9_.-]+\/)*$/,
          'RTCGW_RECORDINGS_PREFIX must be "" or folder names each ending with "/" (e.g. recordings/)',
        ),
      ),
    "recordings/",
  ),
  // the node (and the functions) read their secrets from Secrets Manager at run time, never from a
  // file or a plaintext environment variable (src/aws/run-time-secrets.ts; the plain variable, if
  // set, wins): the control secret, the API token, the client-token secret, the TURN secret
  RTCGW_NODE_SECRET_ARN: secretArn("RTCGW_NODE_SECRET_ARN"),
  RTCGW_API_TOKEN_ARN: secretArn("RTCGW_API_TOKEN_ARN"),
  RTCGW_TOKEN_SECRET_ARN: secretArn("RTCGW_TOKEN_SECRET_ARN"),
  RTCGW_TURN_SECRET_ARN: secretArn("RTCGW_TURN_SECRET_ARN"),
  // this node's own TURN server (coturn beside it), announced in its registry record: signaling
  // hands these out, with a credential, to the clients of the sessions this node takes
  RTCGW_NODE_TURN_URLS: commaList((s) =>
    TURN_URL.test(s)
      ? undefined
      : `RTCGW_NODE_TURN_URLS: "${s}" must be a turn: or turns: URL without credentials (e.g. turn:203.0.113.7:3478?transport=udp)`,
  ),
  RECORDINGS_DIR: z._default(
    z.string().check(z.minLength(1, "RECORDINGS_DIR must be a directory path")),
    "./recordings",
  ),
  // a node whose RECORDINGS_DIR's file system has less than this free (MiB, as `df -m` counts)
  // takes no recording: one long call's worth. The largest recording a session makes is a 48 kHz
  // stereo WAV, 192 000 B/s = 659 MiB an hour, beside the caller's own Opus packets in the Ogg
  // (≤ 128 kbit/s stereo: 55 MiB an hour): 256 MiB is ~20 minutes of that and ~45 minutes of the
  // usual 48 kHz mono record (96 000 B/s, 330 MiB an hour). Not more by default: a developer's
  // or a CI machine's nearly full disk (a few hundred MiB left is seen) still records its test
  // calls; an operator whose calls run longer raises it. 0 = no floor (the write probe only).
  RTCGW_RECORDINGS_MIN_FREE_MB: z._default(
    envNumber("RTCGW_RECORDINGS_MIN_FREE_MB must be a number of MiB (0 = no floor)").check(
      z.int("RTCGW_RECORDINGS_MIN_FREE_MB must be a whole number of MiB"),
      z.minimum(0, "RTCGW_RECORDINGS_MIN_FREE_MB must be 0 or more MiB (0 = no floor)"),
      z.maximum(16_777_216, "RTCGW_RECORDINGS_MIN_FREE_MB must be at most 16777216 MiB (16 TiB)"),
    ),
    DEFAULT_RECORDINGS_MIN_FREE_MB,
  ),
  LOG_LEVEL: z._default(
    z.enum(LOG_LEVELS, { error: `LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}` }),
    "info",
  ),
  RTCGW_CONNECT_TIMEOUT: seconds("RTCGW_CONNECT_TIMEOUT", 10),
  RTCGW_DISCONNECT_TIMEOUT: seconds("RTCGW_DISCONNECT_TIMEOUT", 5),
  RTCGW_MEDIA_TIMEOUT: seconds("RTCGW_MEDIA_TIMEOUT", 30),
  RTCGW_DRAIN_TIMEOUT: seconds("RTCGW_DRAIN_TIMEOUT", 30),
  // how long an ended session's tombstone (how and when it ended) stays in the registry
  RTCGW_TOMBSTONE_TTL: seconds("RTCGW_TOMBSTONE_TTL", 600),
  // how long a session whose peer disconnected, failed or went silent waits for its client to
  // resume it with a new peer (POST /v1/sessions/{id}/resume); 0 = no waiting (the session ends
  // after RTCGW_DISCONNECT_TIMEOUT / RTCGW_MEDIA_TIMEOUT as before)
  RTCGW_RESUME_WINDOW: z._default(
    envNumber(
      "RTCGW_RESUME_WINDOW must be a number of seconds (0 = sessions are not kept for a resume)",
    ).check(
      z.minimum(0, "RTCGW_RESUME_WINDOW must be 0 or more seconds"),
      z.maximum(3600, "RTCGW_RESUME_WINDOW must be at most 3600 seconds"),
    ),
    20,
  ),
  // a receiving session whose peer sent neither RTP nor RTCP this long is interrupted (interruptedBy
  // "silent"; it waits RTCGW_RESUME_WINDOW, and is connected again by itself when its RTP comes
  // back): an audio-only libdatachannel or webrtcbin peer that closes sends nothing at all, so its
  // silence is the only sign of it within seconds (docs/node.md, "A peer that closes").
  // 0 = off; only with a resume window (without one, RTCGW_MEDIA_TIMEOUT ends a silent session).
  RTCGW_SILENCE_INTERRUPT_S: z._default(
    envNumber(
      "RTCGW_SILENCE_INTERRUPT_S must be a number of seconds (0 = a silent peer does not interrupt its session)",
    ).check(
      z.minimum(0, "RTCGW_SILENCE_INTERRUPT_S must be 0 or more seconds"),
      z.maximum(3600, "RTCGW_SILENCE_INTERRUPT_S must be at most 3600 seconds"),
    ),
    1.5,
  ),
  RTCGW_NODE_URL: optionalThen(
    z.url({ protocol: /^https?$/, error: "RTCGW_NODE_URL must be an http(s) URL" }),
  ),
  RTCGW_NODE_CAPACITY: z._default(
    envNumber("RTCGW_NODE_CAPACITY must be a number of sessions").check(
      z.int("RTCGW_NODE_CAPACITY must be a whole number"),
      z.minimum(1, "RTCGW_NODE_CAPACITY must be at least 1"),
    ),
    400,
  ),
  // one source's WHEP listeners: each re-encodes the source's audio for itself (48 kHz Opus, ~1 %
  // of a core), and a client token or session token that made one session may add listeners
  RTCGW_WHEP_MAX_LISTENERS: z._default(
    envNumber("RTCGW_WHEP_MAX_LISTENERS must be a number of listeners per session").check(
      z.int("RTCGW_WHEP_MAX_LISTENERS must be a whole number"),
      z.minimum(0, "RTCGW_WHEP_MAX_LISTENERS must be 0 or more (0 = no WHEP listeners)"),
    ),
    10,
  ),
  // admission by load (src/node/process/load-guard.ts), for the node's worker processes (`rtcgw
  // node`; in-process nodes — `rtcgw dev`, tests — draw no line): the share of its cores' CPU or
  // of its event loop, projected over the calls not yet measured, at which a worker refuses new
  // sessions (503 node-busy), and how late its media clock may run before it does. 0 = no such line.
  RTCGW_BUSY_AT: z._default(
    envNumber("RTCGW_BUSY_AT must be a share of the worker's cores, 0..1 (0 = no CPU or loop line)").check(
      z.minimum(0, "RTCGW_BUSY_AT must be 0..1 (e.g. 0.85)"),
      z.maximum(1, "RTCGW_BUSY_AT must be 0..1 (e.g. 0.85)"),
    ),
    DEFAULT_BUSY_AT,
  ),
  RTCGW_BUSY_LAG_MS: z._default(
    envNumber("RTCGW_BUSY_LAG_MS must be a number of milliseconds (0 = no lag line)").check(
      z.minimum(0, "RTCGW_BUSY_LAG_MS must be 0 or more milliseconds"),
      z.maximum(10_000, "RTCGW_BUSY_LAG_MS must be at most 10000 milliseconds"),
    ),
    DEFAULT_BUSY_LAG_MS,
  ),
  // the echo profile's Opus encoder complexity (see ECHO_OPUS_COMPLEXITY in src/media/profiles/echo.ts)
  RTCGW_ECHO_COMPLEXITY: z._default(
    envNumber("RTCGW_ECHO_COMPLEXITY must be an Opus complexity 0..10").check(
      z.int("RTCGW_ECHO_COMPLEXITY must be a whole number"),
      z.minimum(0, "RTCGW_ECHO_COMPLEXITY must be 0..10"),
      z.maximum(10, "RTCGW_ECHO_COMPLEXITY must be 0..10"),
    ),
    1,
  ),
  // where the Opus encoder runs (src/audio/codecs/opus-encoder-state.ts): the package's native
  // addon (about half the CPU of WASM per frame), WASM, or native when it loads ("auto")
  RTCGW_OPUS_ENCODER: z._default(
    z.enum(["auto", "native", "wasm"], { error: "RTCGW_OPUS_ENCODER must be auto, native or wasm" }),
    "auto",
  ),
  // the bridge profile dials a URL the client chose: only URLs whose scheme, host and port equal
  // an entry's and whose path lies under the entry's (SSRF guard; empty = every bridge refused).
  // Rules in src/config/bridge-url.ts.
  RTCGW_BRIDGE_ALLOW: commaList((s) => {
    const e = parseAllowEntry(s);
    return typeof e === "string"
      ? `RTCGW_BRIDGE_ALLOW: "${s}" must be a ws:// or wss:// URL naming one host (and port, or none for the default) and a path prefix, e.g. wss://agent.example.com/ or ws://127.0.0.1:8765/: ${e}`
      : undefined;
  }),
  // every dial of a bridge agent's socket is signed with it (HMAC-SHA256, src/node/bridge/signature.ts)
  RTCGW_BRIDGE_SECRET: optionalThen(
    z.string().check(z.minLength(16, "RTCGW_BRIDGE_SECRET must be at least 16 characters")),
  ),
  // how long a dropped agent socket is redialed before the call ends
  RTCGW_BRIDGE_RECONNECT_S: seconds("RTCGW_BRIDGE_RECONNECT_S", 10),
  RTCGW_WORKERS: z._default(
    envNumber("RTCGW_WORKERS must be a number of worker processes (0 = one per core)").check(
      z.int("RTCGW_WORKERS must be a whole number"),
      z.minimum(0, "RTCGW_WORKERS must be 0 or more"),
      z.maximum(64, "RTCGW_WORKERS must be at most 64"),
    ),
    0,
  ),
  // the C allocator of the workers `rtcgw node` forks: jemalloc (preloaded when installed) gives
  // a busy node's freed native memory back, glibc's malloc keeps its peak (src/node/process/allocator.ts)
  RTCGW_MALLOC: z._default(
    z.enum(["jemalloc", "glibc"], { error: "RTCGW_MALLOC must be jemalloc or glibc" }),
    "jemalloc",
  ),
});

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parse the environment into a typed Config, or throw one ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty (or blank) strings count as unset, as in most deployment tools.
  const input: Record<string, string> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v.trim() !== "") input[key] = v;
  }
  const r = ConfigSchema.safeParse(input);
  if (!r.success) {
    throw new ConfigError(
      r.error.issues.map((i) => {
        const name = String(i.path[0] ?? "");
        const value = input[name];
        // show what was given, but never a secret nor credentials inside a URL
        const shown =
          name && value !== undefined && !/SECRET|TOKEN/.test(name)
            ? ` (got "${value.replace(/:\/\/[^@/]*@/, "://***@")}")`
            : "";
        return i.message.startsWith(name) ? `${i.message}${shown}` : `${name}: ${i.message}${shown}`;
      }),
    );
  }
  const paired = pairProblems(r.data);
  if (paired.length > 0) throw new ConfigError(paired);
  return r.data;
}

/** Settings that only work together. */
function pairProblems(c: Config): string[] {
  const out: string[] = [];
  // a TURN secret without static URLs is fine: each media node may announce its own TURN server
  // (RTCGW_NODE_TURN_URLS in its registry record); URLs without a secret can never be handed out
  if (c.RTCGW_TURN_URLS.length > 0 && !c.RTCGW_TURN_SECRET && !c.RTCGW_TURN_SECRET_ARN)
    out.push(
      "RTCGW_TURN_URLS is set but RTCGW_TURN_SECRET is not: set the TURN server's shared secret (coturn static-auth-secret), or RTCGW_TURN_SECRET_ARN",
    );
  return out;
}

/** For entry points: load the config or print the problems and exit 2, never a stack trace. */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): Config {
  try {
    return loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`rtcgw: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}
