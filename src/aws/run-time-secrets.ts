// Secrets resolved at run time: for each secret setting, the plain variable if set (dev, tests),
// else the Secrets Manager secret its *_ARN names — the node reads them at start, a function at
// its first invocation (and keeps them for the instance's life). A secret is never written to a
// file nor put in a function's environment in plaintext. Each principal is given only the ARNs
// (and the read permission) of the secrets it uses, so it resolves only those.
import { BEARER_TOKEN_RE, BEARER_TOKEN_RULE, type Config } from "../config/index.js";
import { getSecretString } from "./secrets-manager.js";

/** each secret setting, its ARN setting and the shortest value its own validation accepts; the
 *  one that travels as a Bearer token must also be made of Bearer token characters */
export const RUN_TIME_SECRETS = [
  { name: "RTCGW_NODE_SECRET", arn: "RTCGW_NODE_SECRET_ARN", minLength: 16, bearer: false },
  { name: "RTCGW_API_TOKEN", arn: "RTCGW_API_TOKEN_ARN", minLength: 16, bearer: true },
  { name: "RTCGW_TOKEN_SECRET", arn: "RTCGW_TOKEN_SECRET_ARN", minLength: 32, bearer: false },
  { name: "RTCGW_TURN_SECRET", arn: "RTCGW_TURN_SECRET_ARN", minLength: 16, bearer: false },
] as const;

type SecretName = (typeof RUN_TIME_SECRETS)[number]["name"];
type ArnName = (typeof RUN_TIME_SECRETS)[number]["arn"];

/** `config` with every secret whose ARN is set (and whose plain value is not) read from Secrets Manager */
export async function withRunTimeSecrets<C extends Pick<Config, SecretName | ArnName>>(
  config: C,
  read: (arn: string) => Promise<string> = getSecretString,
): Promise<C> {
  const todo = RUN_TIME_SECRETS.filter((s) => !config[s.name] && config[s.arn]);
  if (todo.length === 0) return config;
  // a failed read says which setting and what to check: a bare "connect ETIMEDOUT" in a function's
  // log names neither the secret nor Secrets Manager
  const values = await Promise.all(
    todo.map((s) =>
      read(config[s.arn]!).catch((e: unknown) => {
        throw new Error(
          `could not read ${s.arn} (${config[s.arn]}) from Secrets Manager: ${(e as Error)?.message ?? String(e)} ` +
            "(check that this role may secretsmanager:GetSecretValue on it, and that Secrets Manager is reachable: in a VPC without NAT, through its interface endpoint)",
        );
      }),
    ),
  );
  const out = { ...config };
  todo.forEach((s, i) => {
    const v = values[i]!;
    if (v.length < s.minLength)
      throw new Error(`the secret ${config[s.arn]} (${s.arn}) is shorter than ${s.minLength} characters`);
    if (s.bearer && !BEARER_TOKEN_RE.test(v))
      throw new Error(`the secret ${config[s.arn]} (${s.arn}) ${BEARER_TOKEN_RULE}`);
    (out as Record<string, unknown>)[s.name] = v;
  });
  return out;
}
