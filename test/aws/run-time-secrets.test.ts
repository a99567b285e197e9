// Which secrets a process reads at start: each whose *_ARN is set and whose plain value is not,
// once, checked against the setting's own minimum length. (The Secrets Manager call itself is
// exercised against the stand-in by the deploy rehearsal, test/infra/rehearsal.test.ts.)
import { describe, expect, it } from "vitest";
import { withRunTimeSecrets } from "../../src/aws/run-time-secrets.js";
import { loadConfig } from "../../src/config/index.js";

const arn = (n: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${n}-AbCdEf`;

describe("withRunTimeSecrets", () => {
  it("reads each secret named by an ARN once, and only those", async () => {
    const read: string[] = [];
    const values: Record<string, string> = {
      [arn("ApiToken")]: "api-token-from-secrets-manager",
      [arn("TokenSecret")]: "token-secret-from-secrets-manager-0123456789",
    };
    const c = await withRunTimeSecrets(
      loadConfig({ RTCGW_API_TOKEN_ARN: arn("ApiToken"), RTCGW_TOKEN_SECRET_ARN: arn("TokenSecret") }),
      async (a) => {
        read.push(a);
        return values[a]!;
      },
    );
    expect(read.sort()).toEqual([arn("ApiToken"), arn("TokenSecret")].sort());
    expect(c.RTCGW_API_TOKEN).toBe("api-token-from-secrets-manager");
    expect(c.RTCGW_TOKEN_SECRET).toBe("token-secret-from-secrets-manager-0123456789");
    expect(c.RTCGW_NODE_SECRET).toBeUndefined();
    expect(c.RTCGW_TURN_SECRET).toBeUndefined();
  });

  it("a plain value wins over its ARN (nothing is read); no ARN, nothing read", async () => {
    const c0 = loadConfig({
      RTCGW_NODE_SECRET: "plain-node-secret-0123",
      RTCGW_NODE_SECRET_ARN: arn("Node"),
    });
    const c = await withRunTimeSecrets(c0, async () => {
      throw new Error("must not be read");
    });
    expect(c).toBe(c0);
  });

  it("a secret that cannot be read names its setting and ARN, and what to check (not a bare ECONNREFUSED)", async () => {
    const read = withRunTimeSecrets(loadConfig({ RTCGW_NODE_SECRET_ARN: arn("Node") }), async () => {
      throw new Error("connect ECONNREFUSED 10.0.0.5:443");
    });
    await expect(read).rejects.toThrow(
      `could not read RTCGW_NODE_SECRET_ARN (${arn("Node")}) from Secrets Manager: connect ECONNREFUSED 10.0.0.5:443`,
    );
    await expect(read).rejects.toThrow(/secretsmanager:GetSecretValue/);
  });

  it("refuses a secret shorter than its setting allows, naming the ARN variable", async () => {
    await expect(
      withRunTimeSecrets(
        loadConfig({ RTCGW_TOKEN_SECRET_ARN: arn("TokenSecret") }),
        async () => "only-20-characters-x",
      ),
    ).rejects.toThrow(/RTCGW_TOKEN_SECRET_ARN\) is shorter than 32 characters/);
  });

  it("refuses an API token from Secrets Manager that no Bearer header can carry, never printing it", async () => {
    const value = "api token: with spaces & $ signs";
    const read = withRunTimeSecrets(loadConfig({ RTCGW_API_TOKEN_ARN: arn("ApiToken") }), async () => value);
    await expect(read).rejects.toThrow(/RTCGW_API_TOKEN_ARN\) may contain only A-Z a-z 0-9/);
    await expect(read).rejects.not.toThrow(value);
    // a trailing newline (a secret put from a file) is refused too, not silently never matched
    await expect(
      withRunTimeSecrets(
        loadConfig({ RTCGW_API_TOKEN_ARN: arn("ApiToken") }),
        async () => "api-token-0123456789\n",
      ),
    ).rejects.toThrow(/may contain only/);
    // the other secrets are HMAC keys, never sent: any character is fine
    const c = await withRunTimeSecrets(
      loadConfig({ RTCGW_TURN_SECRET_ARN: arn("Turn") }),
      async () => "turn secret: $!@ anything",
    );
    expect(c.RTCGW_TURN_SECRET).toBe("turn secret: $!@ anything");
  });
});
