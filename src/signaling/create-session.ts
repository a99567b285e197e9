// POST /v1/whip, POST /v1/sessions, POST /v1/whep/{id}: offer in, answer out (RFC 9725 §4.2).
// Order of work: authenticate → check the body → pick a node → record the session (state "new",
// with the ETag picked here) → ask the node for the answer → 201. Any failure after the record
// exists removes it again (and, when the node may have created the peer, deletes it there too):
// no orphan is left in the registry or on the node.
// Failover: a node that does not answer (refused, reset, timed out) is marked suspect in the
// registry and the offer goes to another node in the same request, up to MAX_NODES_PER_OFFER
// nodes while a control timeout still fits in OFFER_BUDGET_MS; a node that answers 503 (full,
// draining, busy) costs one retry elsewhere. With no node left: 503 + Retry-After.
import { randomBytes } from "node:crypto";
import { SESSION_ID_RE } from "../control/contract.js";
import { type Logger, sessionLogger } from "../log/index.js";
import { canTakeSession } from "../registry/pick.js";
import type { NodeRecord, PickNeeds, SessionKind, SessionRecord } from "../registry/types.js";
import { checkSessionAccess } from "./auth.js";
import {
  authorizeCreation,
  type CreationGrant,
  enforceClientToken,
  type SpentToken,
  spendClientToken,
} from "./client-token-policy.js";
import { NodeRefusedError } from "./control-client.js";
import { newSessionCredentials, type SessionCredentials } from "./credentials.js";
import type { SignalingDeps } from "./deps.js";
import { MAX_NODES_PER_OFFER, OFFER_BUDGET_MS, SESSION_RECORD_TTL_MS } from "./deps.js";
import {
  aboutSession,
  HttpError,
  NodeTimeoutError,
  NodeUnreachableError,
  notFound,
  serviceUnavailable,
} from "./errors.js";
import { quoteEtag } from "./etag.js";
import { iceServerLinks } from "./ice-servers.js";
import { endLostSession, markSuspect, missedHeartbeat, nodeDidNotAnswer } from "./node-liveness.js";
import { type ProfileChoice, profileFor } from "./profile.js";
import { updateSessionRecord } from "./record-update.js";
import { basePath, type Event, requestBearer } from "./request.js";
import { type Result, result } from "./response.js";
import { checkOffer, sdpBody } from "./sdp-checks.js";

/** how long the best-effort cleanup DELETE on a node that timed out may take */
const CLEANUP_TIMEOUT_MS = 1_000;
export const SESSION_TOKEN_HEADER = "rtcgw-session-token";

export async function createSession(deps: SignalingDeps, event: Event, kind: SessionKind): Promise<Result> {
  const bearer = requestBearer(event);
  let source: SessionRecord | undefined;
  let grant: CreationGrant | undefined;
  if (kind === "whep") {
    // a listener hears someone's audio: that needs the source session's own credentials
    const sourceId = event.pathParameters?.id ?? "";
    if (!SESSION_ID_RE.test(sourceId)) throw notFound("no such session");
    source = await deps.registry.getSession(sourceId);
    if (!source) throw notFound("no such session to listen to");
    checkSessionAccess(source, bearer);
    // a listener only sends: a listener of it would connect and never hear a thing
    if (source.kind === "whep")
      throw new HttpError(
        422,
        "source-is-listener",
        "that session is a WHEP listener; it has no incoming audio to listen to: listen to its source session instead",
      );
  } else {
    grant = await authorizeCreation(deps.config, bearer, deps.now());
  }
  const offer = sdpBody(event, "application/sdp");
  checkOffer(offer);
  const token = grant?.by === "client-token" ? grant.claims : undefined;
  const choice = profileFor(event, kind, {
    ...(token?.bridge ? { bridgeUrl: token.bridge } : {}),
    ...(token?.bridgeParams ? { bridgeParams: token.bridgeParams } : {}),
    ...(token?.bridgeProtocol ? { bridgeProtocol: token.bridgeProtocol } : {}),
    ...(token?.recordRate ? { recordRate: token.recordRate } : {}),
  });
  if (token) enforceClientToken(token, choice);

  const creds = newSessionCredentials(bearer);
  // a session that writes a file goes only to a node that can record (its disk not full)
  const needs: PickNeeds = { record: writesRecording(choice) };
  let node: NodeRecord | undefined = source
    ? await deps.registry.getNode(source.nodeId)
    : await deps.registry.pickNode(needs);
  if (!node) {
    if (source) throw await sourceLost(deps, source);
    throw serviceUnavailable(
      needs.record && (await someNodeCanTakeSession(deps))
        ? "no media node can record right now (their recordings disks are full or unwritable); try again"
        : "no media node can take a session right now",
    );
  }
  // a client token's one use, claimed once a node is there to try (given back if none takes it)
  const spent: SpentToken | undefined = token ? await spendClientToken(deps, token) : undefined;

  let created: { answer: string; etag: string; log: Logger };
  const started = deps.now();
  let refusals = 0;
  for (const tried = new Set<string>(); ; ) {
    tried.add(node.id);
    try {
      created = await createOn(deps, node, { kind, offer, choice, creds, ...(source ? { source } : {}) });
      break;
    } catch (e) {
      const silent = nodeDidNotAnswer(e);
      if (silent) await markSuspect(deps, node, sessionLogger(deps.logger, creds.id, { kind }));
      // a node that answers 503 although the registry still offered it — node-full, draining,
      // or node-busy (its event-loop admission guard); its load is reported every few seconds:
      // one other live node is tried before the client hears 503 + Retry-After
      const refused = e instanceof NodeRefusedError && e.status === 503 && ++refusals < 2;
      const inBudget =
        tried.size < MAX_NODES_PER_OFFER && deps.now() - started + deps.controlTimeoutMs <= OFFER_BUDGET_MS;
      const next =
        !source && (silent || refused) && inBudget ? await nextNode(deps, tried, needs) : undefined;
      if (next) {
        node = next;
        continue;
      }
      await spent?.giveBack();
      // the source's node neither answers nor heartbeats: the source died with it
      if (silent && source && missedHeartbeat(node, deps.now()))
        throw aboutSession(await sourceLost(deps, source), creds.id);
      // nodes that do not answer are the service's problem, not the client's: 503 + Retry-After
      // (the request's last line names the session, as "session not created" did: aboutSession)
      if (silent && !source)
        throw aboutSession(
          serviceUnavailable(`no media node answered (${tried.size} tried); try again`),
          creds.id,
        );
      throw aboutSession(e, creds.id);
    }
  }
  const { answer, etag, log } = created;
  log.info(
    {
      profile: choice.profile,
      status: 201,
      auth: grant?.by ?? "source-session",
      ...(token ? { tokenId: token.jti } : {}),
    },
    "session created",
  );

  return result(
    201,
    {
      "content-type": "application/sdp",
      location: `${basePath(event)}/v1/sessions/${creds.id}`,
      etag: quoteEtag(etag),
      [SESSION_TOKEN_HEADER]: creds.secret,
      "accept-patch": "application/trickle-ice-sdpfrag",
      // the TURN server of the node that took it (and any static one), with a fresh credential
      ...iceServerLinks(deps.config, node, creds.id, deps.now()),
    },
    answer,
  );
}

interface CreateOnInput {
  kind: SessionKind;
  offer: string;
  choice: ProfileChoice;
  creds: SessionCredentials;
  source?: SessionRecord;
}

/** Record the session for `node`, get the node's answer, store its ETag; undone on any failure. */
async function createOn(
  deps: SignalingDeps,
  node: NodeRecord,
  i: CreateOnInput,
): Promise<{ answer: string; etag: string; log: Logger }> {
  const log = sessionLogger(deps.logger, i.creds.id, { kind: i.kind, nodeId: node.id });
  // The ETag is picked here and handed to the node, so the record is written once, complete,
  // before the node is called: one registry round trip fewer per offer than writing it after.
  const etag = randomBytes(8).toString("hex");
  const record = await deps.registry.createSession({
    id: i.creds.id,
    nodeId: node.id,
    kind: i.kind,
    profile: i.choice.profile,
    tokenHash: i.creds.tokenHash,
    state: "new",
    etag,
    ttlMs: SESSION_RECORD_TTL_MS,
    ...(i.source ? { sourceSessionId: i.source.id } : {}),
  });
  try {
    const r = await deps.control.createSession(node, {
      sessionId: i.creds.id,
      kind: i.kind,
      offer: i.offer,
      etag,
      ...i.choice,
      ...(i.source ? { sourceSessionId: i.source.id } : {}),
    });
    // a node that picked its own ETag (one older than this field) is recorded as it answered
    if (r.etag !== etag)
      await updateSessionRecord(deps.registry, i.creds.id, { etag: r.etag }, record.version);
    return { answer: r.answer, etag: r.etag, log };
  } catch (e) {
    await undo(deps, node, i.creds.id, e, log);
    throw e;
  }
}

/**
 * A listener's source whose media node is gone (no node record, or one that neither answers nor
 * heartbeats): the source is ended "node-lost", as GET and resume end it, and the listener gets
 * the 404 of an ended source — not 503 "try again", which no retry would ever change.
 */
async function sourceLost(deps: SignalingDeps, source: SessionRecord): Promise<HttpError> {
  await endLostSession(deps, source, sessionLogger(deps.logger, source.id, { nodeId: source.nodeId }));
  return notFound("no such session to listen to: its media node is gone");
}

/** The session writes a recording: the record profile (whip's default), or a bridge with record=1. */
const writesRecording = (choice: ProfileChoice): boolean =>
  choice.profile === "record" || (choice.profile === "bridge" && choice.bridgeRecord === true);

/** Whether any node could take a session that writes no file: the 503's reason says which it is. */
async function someNodeCanTakeSession(deps: SignalingDeps): Promise<boolean> {
  const now = deps.now();
  return (await deps.registry.listNodes()).some((n) => canTakeSession(n, now));
}

/** The least-loaded node that can take a session (live, fresh, not suspect), other than those tried. */
async function nextNode(
  deps: SignalingDeps,
  tried: Set<string>,
  needs: PickNeeds,
): Promise<NodeRecord | undefined> {
  const nodes = await deps.registry.listNodes();
  const now = deps.now();
  return nodes
    .filter((n) => !tried.has(n.id) && canTakeSession(n, now, needs))
    .sort((a, b) => a.load / a.capacity - b.load / b.capacity)[0];
}

/** Removes the record, and the node's peer if the node may have made one. Never throws. */
async function undo(
  deps: SignalingDeps,
  node: NodeRecord,
  id: string,
  cause: unknown,
  log: ReturnType<typeof sessionLogger>,
): Promise<void> {
  const status = cause instanceof HttpError ? cause.status : 500;
  log.info({ status, code: cause instanceof HttpError ? cause.code : "internal" }, "session not created");
  try {
    await deps.registry.deleteSession(id);
  } catch (e) {
    log.warn({ err: (e as Error).message }, "could not remove the record of a failed session");
  }
  // a node that timed out (or whose answer was lost) may still build the peer: tell it to drop it
  if (
    cause instanceof NodeTimeoutError ||
    cause instanceof NodeUnreachableError ||
    !(cause instanceof HttpError)
  ) {
    const cleanup = deps.control.deleteSession(node, id, CLEANUP_TIMEOUT_MS).catch(() => {
      log.warn("best-effort cleanup DELETE on the media node failed; its watchdog frees the peer");
    });
    // A node that timed out is most likely frozen or overloaded: its DELETE would time out too and
    // hold the failover offer for another CLEANUP_TIMEOUT_MS. It is not needed for correctness —
    // the peer never connects, so the node's connect timeout frees it, and a node that comes back
    // finds no record to re-assert — so it goes on in the background (on Lambda it may be frozen
    // with the invocation; that is the same outcome as a lost DELETE).
    if (!(cause instanceof NodeTimeoutError)) await cleanup;
  }
}
