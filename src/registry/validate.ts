// Input validation shared by every store: a bad id, URL, number or TTL is refused before it
// reaches a store, with a RegistryValidationError that says which field is wrong and what it
// expects. Stores stay simple (and consistent with each other) because they only ever see
// well-formed records.
import { RegistryValidationError } from "./errors.js";
import type {
  NewSession,
  NodeHeartbeat,
  NodeRecord,
  SessionEnd,
  SessionKind,
  SessionPatch,
  SessionState,
} from "./types.js";

export const LIMITS = {
  /** ids of nodes and sessions */
  idMaxLength: 128,
  controlUrlMaxLength: 2048,
  /** TURN URLs one node announces, and the length of each */
  turnUrlsMax: 8,
  turnUrlMaxLength: 256,
  profileMaxLength: 64,
  etagMaxLength: 256,
  /** sessions or nodes can live at most a week without a refresh */
  ttlMaxMs: 7 * 24 * 3600 * 1000,
  capacityMax: 1_000_000,
} as const;

// Safe in Redis keys, DynamoDB keys, URLs and log lines without escaping:
// letters, digits and - _ . : (base64url CSPRNG ids fit).
const ID_RE = /^[A-Za-z0-9_.:-]+$/;
const PROFILE_RE = /^[A-Za-z0-9_.:-]+$/;
// Printable ASCII: an ETag is a quoted-string of visible characters (RFC 9110 §8.8.3).
const ETAG_RE = /^[\x21-\x7e]+$/;
const SHA256_HEX_RE = /^[0-9a-fA-F]{64}$/;
const REASON_RE = /^[a-z0-9][a-z0-9-]{0,39}$/;

export const SESSION_KINDS: readonly SessionKind[] = ["whip", "session", "whep"];
export const SESSION_STATES: readonly SessionState[] = [
  "new",
  "connecting",
  "connected",
  "disconnected",
  "closed",
];

function fail(message: string): never {
  throw new RegistryValidationError(message);
}

/** Short, printable rendering of a bad value for an error message (never the whole of a huge input). */
function show(v: unknown): string {
  if (typeof v === "string") return v.length > 40 ? `"${v.slice(0, 40)}…" (${v.length} chars)` : `"${v}"`;
  if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) return String(v);
  return typeof v;
}

export function validateId(field: string, v: unknown): string {
  if (typeof v !== "string") return fail(`${field} must be a string, got ${show(v)}`);
  if (v.length === 0) return fail(`${field} must not be empty`);
  if (v.length > LIMITS.idMaxLength)
    return fail(`${field} must be at most ${LIMITS.idMaxLength} characters, got ${v.length}`);
  if (!ID_RE.test(v)) return fail(`${field} may only contain letters, digits and - _ . : (got ${show(v)})`);
  return v;
}

export function validateControlUrl(v: unknown): string {
  const field = "controlUrl";
  if (typeof v !== "string" || v.length === 0) return fail(`${field} must be a non-empty http(s) URL`);
  if (v.length > LIMITS.controlUrlMaxLength)
    return fail(`${field} must be at most ${LIMITS.controlUrlMaxLength} characters, got ${v.length}`);
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return fail(`${field} must be an absolute http(s) URL such as http://10.0.0.5:9090 (got ${show(v)})`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    return fail(`${field} must use http: or https:, got ${show(u.protocol)}`);
  return v;
}

export function validateInt(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v))
    return fail(`${field} must be a whole number, got ${show(v)}`);
  if (v < min || v > max) return fail(`${field} must be between ${min} and ${max}, got ${v}`);
  return v;
}

export function validateTtl(field: string, v: unknown): number {
  return validateInt(field, v, 1, LIMITS.ttlMaxMs);
}

function validateText(field: string, v: unknown, max: number, re: RegExp, what: string): string {
  if (typeof v !== "string") return fail(`${field} must be a string, got ${show(v)}`);
  if (v.length === 0) return fail(`${field} must not be empty`);
  if (v.length > max) return fail(`${field} must be at most ${max} characters, got ${v.length}`);
  if (!re.test(v)) return fail(`${field} ${what} (got ${show(v)})`);
  return v;
}

function validateOneOf<T extends string>(field: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== "string" || !allowed.includes(v as T))
    return fail(`${field} must be one of ${allowed.join(", ")}, got ${show(v)}`);
  return v as T;
}

function validateBool(field: string, v: unknown): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") return fail(`${field} must be true or false, got ${show(v)}`);
  return v;
}

const validateProfile = (v: unknown) =>
  validateText(
    "profile",
    v,
    LIMITS.profileMaxLength,
    PROFILE_RE,
    "may only contain letters, digits and - _ . :",
  );
const validateEtag = (v: unknown) =>
  validateText("etag", v, LIMITS.etagMaxLength, ETAG_RE, "may only contain visible ASCII characters");

export function validateNewNode(node: Omit<NodeRecord, "expiresAt">, ttlMs: number): void {
  if (typeof node !== "object" || node === null) fail("node must be an object");
  validateId("node id", node.id);
  validateControlUrl(node.controlUrl);
  validateInt("capacity", node.capacity, 0, LIMITS.capacityMax);
  validateInt("load", node.load, 0, LIMITS.capacityMax);
  validateBool("draining", node.draining);
  validateTtl("ttlMs", ttlMs);
  if (node.staleMarginMs !== undefined) validateInt("staleMarginMs", node.staleMarginMs, 0, ttlMs);
  if (node.turnUrls !== undefined) validateTurnUrls(node.turnUrls);
  if (node.recordUnavailable !== undefined) validateRecordUnavailable(node.recordUnavailable);
}

// a word an operator reads (and a store keeps in one field): "disk-full", "unwritable"
const RECORD_UNAVAILABLE_RE = /^[a-z][a-z0-9-]{0,39}$/;
function validateRecordUnavailable(v: unknown): void {
  if (typeof v !== "string" || !RECORD_UNAVAILABLE_RE.test(v))
    fail(`recordUnavailable must be 1–40 lower-case letters, digits and - (a letter first), got ${show(v)}`);
}

// what a client may be handed as an ICE server: turn:/turns:, no credentials, no separators that
// would break the Link header (RFC 8288: "<", ">", ",", ";", quotes) or a store's list encoding
const TURN_URL_RE = /^turns?:[^\s@,;<>"]+$/;

function validateTurnUrls(v: unknown): void {
  if (!Array.isArray(v)) fail("turnUrls must be an array of turn:/turns: URLs");
  const list = v as unknown[];
  if (list.length > LIMITS.turnUrlsMax)
    fail(`turnUrls may hold at most ${LIMITS.turnUrlsMax} URLs, got ${list.length}`);
  for (const u of list)
    validateText(
      "turnUrls[]",
      u,
      LIMITS.turnUrlMaxLength,
      TURN_URL_RE,
      "must be a turn: or turns: URL without credentials (e.g. turn:203.0.113.7:3478?transport=udp)",
    );
}

export function validateSuspect(id: string, ttlMs: number): void {
  validateId("node id", id);
  validateTtl("ttlMs", ttlMs);
}

export function validateEnd(id: string, end: SessionEnd): void {
  validateId("session id", id);
  if (typeof end !== "object" || end === null) fail("end must be an object");
  if (typeof end.reason !== "string" || !REASON_RE.test(end.reason))
    fail(`reason must be 1–40 lower-case letters, digits and -, got ${show(end.reason)}`);
  validateTtl("ttlMs", end.ttlMs);
}

export function validateHeartbeat(id: string, hb: NodeHeartbeat): void {
  validateId("node id", id);
  if (typeof hb !== "object" || hb === null) fail("heartbeat must be an object");
  validateInt("load", hb.load, 0, LIMITS.capacityMax);
  validateTtl("ttlMs", hb.ttlMs);
  validateBool("draining", hb.draining);
  if (hb.recordUnavailable !== undefined && hb.recordUnavailable !== null)
    validateRecordUnavailable(hb.recordUnavailable);
}

export function validateNewSession(s: NewSession): void {
  if (typeof s !== "object" || s === null) fail("session must be an object");
  validateId("session id", s.id);
  validateId("nodeId", s.nodeId);
  validateOneOf("kind", s.kind, SESSION_KINDS);
  validateProfile(s.profile);
  if (typeof s.tokenHash !== "string" || !SHA256_HEX_RE.test(s.tokenHash))
    fail(`tokenHash must be a SHA-256 digest as 64 hex characters, got ${show(s.tokenHash)}`);
  validateOneOf("state", s.state, SESSION_STATES);
  validateEtag(s.etag);
  if (s.sourceSessionId !== undefined) validateId("sourceSessionId", s.sourceSessionId);
  validateTtl("ttlMs", s.ttlMs);
}

export function validatePatch(id: string, expectedVersion: number, patch: SessionPatch): void {
  validateId("session id", id);
  validateInt("expectedVersion", expectedVersion, 0, Number.MAX_SAFE_INTEGER);
  if (typeof patch !== "object" || patch === null) fail("patch must be an object");
  const known = new Set(["state", "etag", "nodeId", "profile", "ttlMs"]);
  for (const k of Object.keys(patch)) {
    if (!known.has(k)) fail(`patch field "${k}" cannot be changed (allowed: ${[...known].join(", ")})`);
  }
  if (patch.state !== undefined) validateOneOf("state", patch.state, SESSION_STATES);
  if (patch.etag !== undefined) validateEtag(patch.etag);
  if (patch.nodeId !== undefined) validateId("nodeId", patch.nodeId);
  if (patch.profile !== undefined) validateProfile(patch.profile);
  if (patch.ttlMs !== undefined) validateTtl("ttlMs", patch.ttlMs);
}
