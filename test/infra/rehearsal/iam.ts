// Enough IAM policy evaluation for the rehearsal: Allow statements of the principal's role (as the
// template writes them, tokens resolved to the rehearsal's names), action and resource wildcards,
// StringEquals conditions. Anything not allowed is denied, as in AWS.
export interface Statement {
  actions: string[];
  resources: string[];
  condition?: Record<string, Record<string, string | string[]>>;
}

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
    "i",
  );

export function allowed(
  statements: readonly Statement[],
  action: string,
  resource: string,
  context: Record<string, string> = {},
): boolean {
  return statements.some(
    (s) =>
      s.actions.some((a) => glob(a).test(action)) &&
      s.resources.some((r) => glob(r).test(resource)) &&
      Object.entries(s.condition ?? {}).every(([op, kv]) =>
        Object.entries(kv).every(([k, v]) => {
          if (op !== "StringEquals") return false; // unknown operators never match
          return ([] as string[]).concat(v).includes(context[k] ?? "\u0000");
        }),
      ),
  );
}
