// The control API client (signaling → media node): HMAC-signed requests (src/control/hmac.ts)
// over node:http on a keep-alive pool (src/http/client.ts: no fetch, whose first use
// costs a cold start ~40 ms), each bounded by a timeout so a stuck node costs a 504, never a hung
// function.
import type {
  ControlError,
  CreateSessionRequest,
  CreateSessionResponse,
  NodeHealth,
  PatchSessionResponse,
  ResumeSessionRequest,
  ResumeSessionResponse,
  SessionStatus,
} from "../control/contract.js";
import { signRequest } from "../control/hmac.js";
import { type HttpResponse, HttpTimeoutError, keepAliveAgents, request } from "../http/client.js";
import type { NodeRecord } from "../registry/types.js";
import {
  HttpError,
  NodeTimeoutError,
  NodeUnreachableError,
  RETRY_AFTER_S,
  retryAfter as retryAfterHeader,
} from "./errors.js";

export interface ControlClientOptions {
  secret: string;
  timeoutMs: number;
}

/** The node answered with an error status: its ControlError, passed on where it is a 4xx. */
export class NodeRefusedError extends HttpError {
  override name = "NodeRefusedError";
  constructor(status: number, body: ControlError | undefined, retryAfter: string | null) {
    const passOn = status >= 400 && status < 500 && status !== 401;
    super(
      passOn ? status : status === 503 ? 503 : 502,
      passOn || status === 503 ? (body?.error ?? "media-node-error") : "media-node-error",
      // a 401 from the node means our shared secret is wrong: an operator problem, not the client's
      status === 401
        ? "the signaling and the media node disagree on RTCGW_NODE_SECRET"
        : (body?.reason ?? `the media node answered ${status}`),
      // a 5xx may pass with a retry (the node's own Retry-After on its 503); a 401 never will
      status === 503
        ? { "retry-after": retryAfter ?? String(RETRY_AFTER_S) }
        : status >= 500
          ? retryAfterHeader()
          : {},
    );
  }
}

export class ControlClient {
  // kept for the life of the function instance: later invocations reuse the node connections
  private readonly agents = keepAliveAgents();
  constructor(private readonly o: ControlClientOptions) {}

  createSession(node: NodeRecord, req: CreateSessionRequest): Promise<CreateSessionResponse> {
    return this.call(node, "POST", "/internal/sessions", req) as Promise<CreateSessionResponse>;
  }

  /** a new peer under the running session `id` (resume) */
  resumeSession(node: NodeRecord, id: string, req: ResumeSessionRequest): Promise<ResumeSessionResponse> {
    return this.call(node, "POST", `${sessionPath(id)}/resume`, req) as Promise<ResumeSessionResponse>;
  }

  /** undefined for a trickle (204), the restart answer for an ICE restart (200) */
  async patchSession(
    node: NodeRecord,
    id: string,
    sdpfrag: string,
  ): Promise<PatchSessionResponse | undefined> {
    return (await this.call(node, "PATCH", sessionPath(id), { sdpfrag })) as PatchSessionResponse | undefined;
  }

  async deleteSession(node: NodeRecord, id: string, timeoutMs = this.o.timeoutMs): Promise<void> {
    await this.call(node, "DELETE", sessionPath(id), undefined, timeoutMs);
  }

  sessionStatus(node: NodeRecord, id: string, timeoutMs = this.o.timeoutMs): Promise<SessionStatus> {
    return this.call(node, "GET", sessionPath(id), undefined, timeoutMs) as Promise<SessionStatus>;
  }

  health(node: NodeRecord): Promise<NodeHealth> {
    return this.call(node, "GET", "/internal/health") as Promise<NodeHealth>;
  }

  private async call(
    node: NodeRecord,
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = this.o.timeoutMs,
  ): Promise<unknown> {
    const text = body === undefined ? "" : JSON.stringify(body);
    const headers: Record<string, string> = signRequest(this.o.secret, node.id, method, path, text);
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: HttpResponse;
    try {
      res = await request(new URL(node.controlUrl.replace(/\/+$/, "") + path), {
        method,
        headers,
        ...(body !== undefined ? { body: text } : {}),
        timeoutMs,
        agents: this.agents,
      });
    } catch (e) {
      // the timeout bounds connecting, the answer and reading its body
      if (e instanceof HttpTimeoutError) throw new NodeTimeoutError(timeoutMs);
      throw new NodeUnreachableError();
    }
    const parsed = res.body ? safeJson(res.body) : undefined;
    if (res.status < 200 || res.status >= 300) {
      const retryAfter = res.headers["retry-after"];
      throw new NodeRefusedError(res.status, parsed as ControlError | undefined, retryAfter ?? null);
    }
    return parsed;
  }
}

const sessionPath = (id: string) => `/internal/sessions/${encodeURIComponent(id)}`;

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
