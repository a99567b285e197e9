// Where the DynamoDB store's signing credentials come from, in order:
//   1. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN): what Lambda provides;
//   2. a plain-http endpoint (dynalite, DynamoDB Local): dummy keys, such servers check no signature;
//   3. the EC2 instance metadata service (dynamodb-imds.ts), cached until shortly before expiry.
import { fetchImdsCredentials, imdsEndpoint } from "./dynamodb-imds.js";

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export type CredentialSource = () => Promise<Credentials>;

/** Refresh IMDS credentials this long before they expire (the SDKs use 5 minutes too). */
const REFRESH_BEFORE_MS = 5 * 60_000;

export function fromEnv(): Credentials | undefined {
  const id = process.env.AWS_ACCESS_KEY_ID;
  const secret = process.env.AWS_SECRET_ACCESS_KEY;
  if (!id || !secret) return undefined;
  const token = process.env.AWS_SESSION_TOKEN;
  return { accessKeyId: id, secretAccessKey: secret, ...(token ? { sessionToken: token } : {}) };
}

export function imdsCredentialSource(
  opts: { endpoint?: string; timeoutMs?: number; now?: () => number } = {},
): CredentialSource {
  const now = opts.now ?? Date.now;
  let cached: { c: Credentials; refreshAt: number } | undefined;
  let pending: Promise<Credentials> | undefined;
  return async () => {
    if (cached && now() < cached.refreshAt) return cached.c;
    // One fetch at a time: concurrent requests share it.
    pending ??= (async () => {
      try {
        const c = await fetchImdsCredentials(opts.endpoint ?? imdsEndpoint(), opts.timeoutMs ?? 1000);
        cached = {
          c: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken },
          refreshAt: Math.max(now(), c.expiresAt - REFRESH_BEFORE_MS),
        };
        return cached.c;
      } catch (e) {
        throw new Error(
          "no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set and the EC2 " +
            `instance metadata service gave none (${(e as Error).message})`,
          { cause: e },
        );
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };
}

export function defaultCredentialSource(endpoint: URL | undefined): CredentialSource {
  const env = fromEnv();
  if (env) return async () => env;
  if (endpoint?.protocol === "http:") {
    const local = { accessKeyId: "local", secretAccessKey: "local" };
    return async () => local;
  }
  if (process.env.AWS_EC2_METADATA_DISABLED === "true")
    return async () => {
      throw new Error(
        "no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set and AWS_EC2_METADATA_DISABLED=true",
      );
    };
  return imdsCredentialSource();
}
