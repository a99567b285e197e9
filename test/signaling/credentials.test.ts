// Session ids and secrets: CSPRNG sizes, the creator-token binding, and that nothing but the
// session's secret or its creator's exact token opens it.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SESSION_ID_RE } from "../../src/control/contract.js";
import { bearerOwnsSession, newSessionCredentials } from "../../src/signaling/credentials.js";

describe("newSessionCredentials", () => {
  it("ids are 2 × 128 bits of base64url, secrets 256 bits; only the secret's SHA-256 is kept", () => {
    const c = newSessionCredentials("creator-token-0123456789");
    expect(c.id).toMatch(SESSION_ID_RE);
    expect(c.id).toHaveLength(44);
    expect(Buffer.from(c.secret, "base64url")).toHaveLength(32);
    expect(c.tokenHash).toBe(createHash("sha256").update(c.secret).digest("hex"));
    const ids = new Set(Array.from({ length: 1000 }, () => newSessionCredentials(undefined).id));
    expect(ids.size).toBe(1000);
  });

  it("the creator's token and the secret open the session; other tokens and other secrets do not", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 64 }),
        fc.string({ minLength: 1, maxLength: 64 }),
        (creator, other) => {
          fc.pre(creator !== other);
          const c = newSessionCredentials(creator);
          expect(bearerOwnsSession(creator, c.id, c.tokenHash)).toBe(true);
          expect(bearerOwnsSession(c.secret, c.id, c.tokenHash)).toBe(true);
          expect(bearerOwnsSession(other, c.id, c.tokenHash)).toBe(false);
          const d = newSessionCredentials(creator);
          expect(bearerOwnsSession(d.secret, c.id, c.tokenHash)).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("a session created without a token opens with its secret only", () => {
    const c = newSessionCredentials(undefined);
    expect(bearerOwnsSession(c.secret, c.id, c.tokenHash)).toBe(true);
    for (const t of ["", "x", "undefined", c.id]) expect(bearerOwnsSession(t, c.id, c.tokenHash)).toBe(false);
  });

  it("a tampered id (same nonce, another tag) does not pass for the creator", () => {
    const c = newSessionCredentials("creator-token-0123456789");
    const forged = c.id.slice(0, 22) + newSessionCredentials("attacker-token-0123456789").id.slice(22);
    expect(bearerOwnsSession("attacker-token-0123456789", forged, c.tokenHash)).toBe(false);
    expect(bearerOwnsSession("creator-token-0123456789", "short", c.tokenHash)).toBe(false);
  });
});
