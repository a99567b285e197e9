// Reading a synthesised template as CloudFormation would: the launch template's user data (and the
// bootstrap parameters in it), each function's role and what its policies allow. Shared by the
// synth tests and the deploy rehearsal.
import { type CfnTemplate, resourcesOf, userDataParts } from "./synth.js";

export type Token = Record<string, unknown>;
export type Resolver = (token: Token) => string;

/** `--flag 'value'` pairs of the bootstrap line; a value that is one whole token stays the token */
export function bootstrapArgs(t: CfnTemplate): Record<string, string | Token> {
  const parts = userDataParts(t);
  const tokens: Token[] = [];
  const flat = parts
    .map((p) => (typeof p === "string" ? p : `@@TOKEN${tokens.push(p as Token) - 1}@@`))
    .join("");
  const line = flat.split("\n").find((l) => l.startsWith('bash "$BOOT/bootstrap.sh"'));
  if (!line) throw new Error("the user data runs no bootstrap");
  const out: Record<string, string | Token> = {};
  for (const m of line.matchAll(/(--[a-z-]+) '([^']*)'/g)) {
    const whole = /^@@TOKEN(\d+)@@$/.exec(m[2]!);
    out[m[1]!] = whole ? tokens[Number(whole[1])]! : m[2]!;
  }
  return out;
}

/** the user data as the instance would run it, every token resolved */
export function resolvedUserData(t: CfnTemplate, resolve: Resolver): string {
  return userDataParts(t)
    .map((p) => (typeof p === "string" ? p : resolveValue(p, resolve)))
    .join("");
}

/** a template value with intrinsic functions resolved (Ref, GetAtt, Join, Sub, Select) */
export function resolveValue(v: unknown, resolve: Resolver): string {
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  const o = v as Record<string, unknown>;
  if ("Fn::Join" in o) {
    const [sep, list] = o["Fn::Join"] as [string, unknown[]];
    return list.map((x) => resolveValue(x, resolve)).join(sep);
  }
  if ("Fn::Sub" in o) {
    const s = o["Fn::Sub"];
    const text = typeof s === "string" ? s : (s as [string])[0];
    return text.replace(/\$\{([^}]+)\}/g, (_, name: string) =>
      resolve(name.includes(".") ? { "Fn::GetAtt": name.split(".") } : { Ref: name }),
    );
  }
  if ("Fn::Select" in o) {
    const [i, list] = o["Fn::Select"] as [number, unknown[]];
    return resolveValue(list[i], resolve);
  }
  return resolve(o);
}

export interface RolePolicy {
  roleId: string;
  statements: { actions: string[]; resources: unknown[]; condition?: unknown }[];
  actions: string[];
}

/** the policies attached to a role (AWS::IAM::Policy resources naming it) */
export function policiesOfRole(t: CfnTemplate, roleId: string): RolePolicy {
  const statements: RolePolicy["statements"] = [];
  for (const [, p] of resourcesOf(t, "AWS::IAM::Policy")) {
    const roles = (p.Properties.Roles ?? []) as { Ref: string }[];
    if (!roles.some((r) => r.Ref === roleId)) continue;
    for (const st of p.Properties.PolicyDocument.Statement as {
      Action: string | string[];
      Resource: unknown;
      Effect: string;
      Condition?: unknown;
    }[]) {
      if (st.Effect !== "Allow") continue;
      statements.push({
        actions: ([] as string[]).concat(st.Action),
        resources: ([] as unknown[]).concat(st.Resource),
        ...(st.Condition ? { condition: st.Condition } : {}),
      });
    }
  }
  return { roleId, statements, actions: [...new Set(statements.flatMap((s) => s.actions))].sort() };
}

export function roleOf(t: CfnTemplate, roleIdPattern: RegExp): RolePolicy {
  const ids = resourcesOf(t, "AWS::IAM::Role")
    .map(([id]) => id)
    .filter((id) => roleIdPattern.test(id));
  if (ids.length !== 1) throw new Error(`${ids.length} roles match ${roleIdPattern}`);
  return policiesOfRole(t, ids[0]!);
}

export function functionLogicalId(t: CfnTemplate, handler: string): string {
  const ids = resourcesOf(t, "AWS::Lambda::Function")
    .map(([id]) => id)
    .filter((id) => id.startsWith(`Fn${handler}`));
  if (ids.length !== 1) throw new Error(`${ids.length} functions for ${handler}`);
  return ids[0]!;
}

export function functionRole(t: CfnTemplate, handler: string): RolePolicy {
  const fn = t.Resources[functionLogicalId(t, handler)]!;
  const roleId = (fn.Properties.Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
  return policiesOfRole(t, roleId);
}

/** every action a function's role allows (its managed VPC/logging policy aside) */
export function functionRoleActions(t: CfnTemplate, handler: string): string[] {
  return functionRole(t, handler).actions;
}
