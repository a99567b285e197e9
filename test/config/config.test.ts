import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseRegistryUrl } from "../../src/config/index.js";

describe("loadConfig", () => {
  it("gives the documented defaults for an empty environment", () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(8080);
    expect(c.NODE_PORT).toBe(9090);
    expect(c.RTCGW_REGISTRY).toEqual({ kind: "memory" });
    expect(c.RECORDINGS_DIR).toBe("./recordings");
    expect(c.LOG_LEVEL).toBe("info");
    expect(c.MEDIA_UDP_PORT).toBe(0);
    expect(c.MEDIA_BIND_ADDRESS).toBe("127.0.0.1");
    expect(c.RTCGW_CONNECT_TIMEOUT).toBe(10);
    expect(c.RTCGW_ICE_SERVERS).toEqual([]);
    expect(c.RTCGW_API_TOKEN).toBeUndefined();
    expect(c.RTCGW_ECHO_COMPLEXITY).toBe(1);
  });

  it("binds the control API to loopback unless NODE_BIND_ADDRESS names an IPv4 address", () => {
    expect(loadConfig({}).NODE_BIND_ADDRESS).toBe("127.0.0.1");
    expect(loadConfig({ NODE_BIND_ADDRESS: "10.0.1.23" }).NODE_BIND_ADDRESS).toBe("10.0.1.23");
    for (const bad of ["localhost", "10.0.1", "::1", "10.0.1.256"])
      expect(() => loadConfig({ NODE_BIND_ADDRESS: bad })).toThrow(
        /NODE_BIND_ADDRESS must be an IPv4 address/,
      );
  });

  it("takes the recordings bucket, its prefix and the node secret's ARN, and refuses malformed ones", () => {
    const c = loadConfig({
      RTCGW_RECORDINGS_BUCKET: "rtcgw-recordings-1",
      RTCGW_NODE_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:NodeSecret-AbCdEf",
    });
    expect(c.RTCGW_RECORDINGS_BUCKET).toBe("rtcgw-recordings-1");
    expect(c.RTCGW_RECORDINGS_PREFIX).toBe("recordings/");
    expect(loadConfig({}).RTCGW_RECORDINGS_BUCKET).toBeUndefined();
    expect(loadConfig({ RTCGW_RECORDINGS_PREFIX: "a/b/" }).RTCGW_RECORDINGS_PREFIX).toBe("a/b/");
    expect(() => loadConfig({ RTCGW_RECORDINGS_BUCKET: "Bad_Bucket" })).toThrow(
      /RTCGW_RECORDINGS_BUCKET must be/,
    );
    expect(() => loadConfig({ RTCGW_RECORDINGS_PREFIX: "../x" })).toThrow(/RTCGW_RECORDINGS_PREFIX must be/);
    expect(() => loadConfig({ RTCGW_NODE_SECRET_ARN: "NodeSecret" })).toThrow(
      /RTCGW_NODE_SECRET_ARN must be/,
    );
  });

  it("takes the API token's, token secret's and TURN secret's ARNs and the node's TURN URLs, and refuses malformed ones", () => {
    const arn = (n: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${n}-AbCdEf`;
    const c = loadConfig({
      RTCGW_API_TOKEN_ARN: arn("ApiToken"),
      RTCGW_TOKEN_SECRET_ARN: arn("TokenSecret"),
      RTCGW_TURN_SECRET_ARN: arn("TurnSecret"),
      RTCGW_NODE_TURN_URLS: "turn:203.0.113.7:3478?transport=udp,turn:203.0.113.7:3478?transport=tcp",
    });
    expect(c.RTCGW_API_TOKEN_ARN).toBe(arn("ApiToken"));
    expect(c.RTCGW_TOKEN_SECRET_ARN).toBe(arn("TokenSecret"));
    expect(c.RTCGW_TURN_SECRET_ARN).toBe(arn("TurnSecret"));
    expect(c.RTCGW_NODE_TURN_URLS).toEqual([
      "turn:203.0.113.7:3478?transport=udp",
      "turn:203.0.113.7:3478?transport=tcp",
    ]);
    expect(loadConfig({}).RTCGW_NODE_TURN_URLS).toEqual([]);
    for (const name of ["RTCGW_API_TOKEN_ARN", "RTCGW_TOKEN_SECRET_ARN", "RTCGW_TURN_SECRET_ARN"])
      expect(() => loadConfig({ [name]: "ApiToken" })).toThrow(
        new RegExp(`${name} must be a Secrets Manager secret ARN`),
      );
    expect(() => loadConfig({ RTCGW_NODE_TURN_URLS: "turn:u:p@203.0.113.7" })).toThrow(
      /RTCGW_NODE_TURN_URLS: .* must be a turn: or turns: URL without credentials/,
    );
  });

  it("takes the silence that interrupts a session (1.5 s by default, 0 = off, fractions) and refuses anything else", () => {
    expect(loadConfig({}).RTCGW_SILENCE_INTERRUPT_S).toBe(1.5);
    expect(loadConfig({ RTCGW_SILENCE_INTERRUPT_S: "0" }).RTCGW_SILENCE_INTERRUPT_S).toBe(0);
    expect(loadConfig({ RTCGW_SILENCE_INTERRUPT_S: "2.5" }).RTCGW_SILENCE_INTERRUPT_S).toBe(2.5);
    for (const bad of ["-1", "3601", "two", "1s"])
      expect(() => loadConfig({ RTCGW_SILENCE_INTERRUPT_S: bad })).toThrow(
        /RTCGW_SILENCE_INTERRUPT_S must be/,
      );
  });

  it("a blank number is unset (its default), not 0; only decimal numbers are numbers", () => {
    const c = loadConfig({
      NODE_PORT: " ",
      RTCGW_RESUME_WINDOW: "  ",
      RTCGW_BUSY_AT: "\t",
      RTCGW_ECHO_COMPLEXITY: " ",
    });
    expect(c).toMatchObject({
      NODE_PORT: 9090,
      RTCGW_RESUME_WINDOW: 20,
      RTCGW_BUSY_AT: 0.85,
      RTCGW_ECHO_COMPLEXITY: 1,
    });
    expect(loadConfig({ RTCGW_NODE_CAPACITY: " 16 " }).RTCGW_NODE_CAPACITY).toBe(16);
    for (const bad of ["0x10", "1e3", "Infinity", "16abc", "1,5"])
      expect(() => loadConfig({ RTCGW_NODE_CAPACITY: bad })).toThrow(/RTCGW_NODE_CAPACITY must be a number/);
  });

  it("RTCGW_NODE_URL must be http or https", () => {
    expect(loadConfig({ RTCGW_NODE_URL: "https://10.0.0.5:9090" }).RTCGW_NODE_URL).toBe(
      "https://10.0.0.5:9090",
    );
    for (const bad of ["ftp://h:1", "mailto:x@y", "ws://h:1"])
      expect(() => loadConfig({ RTCGW_NODE_URL: bad })).toThrow(/RTCGW_NODE_URL must be an http\(s\) URL/);
  });

  it("takes the load guard's lines (0.85 of the cores and 50 ms late by default, 0 = no line) and refuses anything else", () => {
    expect(loadConfig({}).RTCGW_BUSY_AT).toBe(0.85);
    expect(loadConfig({}).RTCGW_BUSY_LAG_MS).toBe(50);
    expect(loadConfig({ RTCGW_BUSY_AT: "0.7", RTCGW_BUSY_LAG_MS: "0" })).toMatchObject({
      RTCGW_BUSY_AT: 0.7,
      RTCGW_BUSY_LAG_MS: 0,
    });
    for (const bad of ["85", "-0.1", "busy"])
      expect(() => loadConfig({ RTCGW_BUSY_AT: bad })).toThrow(/RTCGW_BUSY_AT must be .*0\.\.1/);
    for (const bad of ["-5", "20000", "late"])
      expect(() => loadConfig({ RTCGW_BUSY_LAG_MS: bad })).toThrow(/RTCGW_BUSY_LAG_MS must be/);
  });

  it("takes the recordings disk's free-space floor in MiB (256 by default, 0 = none) and refuses anything else, naming it", () => {
    expect(loadConfig({}).RTCGW_RECORDINGS_MIN_FREE_MB).toBe(256);
    expect(loadConfig({ RTCGW_RECORDINGS_MIN_FREE_MB: "0" }).RTCGW_RECORDINGS_MIN_FREE_MB).toBe(0);
    expect(loadConfig({ RTCGW_RECORDINGS_MIN_FREE_MB: "250" }).RTCGW_RECORDINGS_MIN_FREE_MB).toBe(250);
    for (const bad of ["-1", "1.5", "1G", "0x10", "99999999"])
      expect(() => loadConfig({ RTCGW_RECORDINGS_MIN_FREE_MB: bad })).toThrow(
        /RTCGW_RECORDINGS_MIN_FREE_MB must be/,
      );
  });

  it("takes the echo's Opus complexity 0..10 and refuses anything else", () => {
    expect(loadConfig({ RTCGW_ECHO_COMPLEXITY: "5" }).RTCGW_ECHO_COMPLEXITY).toBe(5);
    for (const bad of ["11", "-1", "2.5", "max"])
      expect(() => loadConfig({ RTCGW_ECHO_COMPLEXITY: bad })).toThrow(/RTCGW_ECHO_COMPLEXITY must be/);
  });

  it("takes where the Opus encoder runs (auto by default, native or wasm) and refuses anything else", () => {
    expect(loadConfig({}).RTCGW_OPUS_ENCODER).toBe("auto");
    for (const ok of ["auto", "native", "wasm"] as const)
      expect(loadConfig({ RTCGW_OPUS_ENCODER: ok }).RTCGW_OPUS_ENCODER).toBe(ok);
    expect(loadConfig({ RTCGW_OPUS_ENCODER: "" }).RTCGW_OPUS_ENCODER).toBe("auto"); // empty = unset, as every variable
    for (const bad of ["Native", "simd", "0"])
      expect(() => loadConfig({ RTCGW_OPUS_ENCODER: bad })).toThrow(
        /RTCGW_OPUS_ENCODER must be auto, native or wasm/,
      );
  });

  it("takes the bridge allowlist as ws(s):// host[:port]/path entries (empty: every bridge refused) and refuses loose ones", () => {
    expect(loadConfig({}).RTCGW_BRIDGE_ALLOW).toEqual([]);
    expect(
      loadConfig({ RTCGW_BRIDGE_ALLOW: " wss://agent.example.com/, ws://127.0.0.1:8765/agent" })
        .RTCGW_BRIDGE_ALLOW,
    ).toEqual(["wss://agent.example.com/", "ws://127.0.0.1:8765/agent"]);
    for (const bad of [
      "https://agent.example.com/",
      "ws://127.0.0.1:", // every port of the host: the leak of issue 15
      "ws://",
      "wss://user@host/",
      "wss://host/#x",
      "wss://host/?token=1",
    ])
      expect(() => loadConfig({ RTCGW_BRIDGE_ALLOW: bad }), bad).toThrow(
        /RTCGW_BRIDGE_ALLOW: .* must be a ws:\/\/ or wss:\/\//,
      );
  });

  it("takes TURN as a secret plus turn:/turns: URLs and a TTL, and refuses URLs without a secret", () => {
    const c = loadConfig({
      RTCGW_TURN_SECRET: "turn-shared-secret-0123",
      RTCGW_TURN_URLS: "turn:turn.example.com:3478?transport=udp, turns:turn.example.com:443?transport=tcp",
    });
    expect(c.RTCGW_TURN_URLS).toEqual([
      "turn:turn.example.com:3478?transport=udp",
      "turns:turn.example.com:443?transport=tcp",
    ]);
    expect(c.RTCGW_TURN_TTL).toBe(3600);
    expect(loadConfig({}).RTCGW_TURN_URLS).toEqual([]);
    const secret = { RTCGW_TURN_SECRET: "turn-shared-secret-0123" };
    // a secret alone: the media nodes announce their own TURN URLs (RTCGW_NODE_TURN_URLS)
    expect(loadConfig(secret).RTCGW_TURN_SECRET).toBe(secret.RTCGW_TURN_SECRET);
    expect(() => loadConfig({ RTCGW_TURN_URLS: "turn:t.example.com" })).toThrow(
      /RTCGW_TURN_URLS is set but RTCGW_TURN_SECRET is not/,
    );
    // the secret's ARN counts: the value is read from Secrets Manager at start
    expect(
      loadConfig({
        RTCGW_TURN_URLS: "turn:t.example.com",
        RTCGW_TURN_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:TurnSecret-AbCdEf",
      }).RTCGW_TURN_URLS,
    ).toEqual(["turn:t.example.com"]);
    for (const bad of ["stun:t.example.com", "turn:user:pass@t.example.com", "https://t.example.com"])
      expect(() => loadConfig({ ...secret, RTCGW_TURN_URLS: bad })).toThrow(
        /RTCGW_TURN_URLS: .* must be a turn: or turns: URL without credentials/,
      );
    expect(() => loadConfig({ ...secret, RTCGW_TURN_URLS: "turn:t", RTCGW_TURN_SECRET: "short" })).toThrow(
      /RTCGW_TURN_SECRET must be at least 16 characters/,
    );
    expect(loadConfig({ ...secret, RTCGW_TURN_URLS: "turn:t", RTCGW_TURN_TTL: "600" }).RTCGW_TURN_TTL).toBe(
      600,
    );
    for (const bad of ["59", "86401", "1.5", "soon"])
      expect(() => loadConfig({ ...secret, RTCGW_TURN_URLS: "turn:t", RTCGW_TURN_TTL: bad })).toThrow(
        /RTCGW_TURN_TTL must be/,
      );
  });

  it("takes a client-token secret of at least 32 characters and never prints it", () => {
    expect(loadConfig({ RTCGW_TOKEN_SECRET: "x".repeat(32) }).RTCGW_TOKEN_SECRET).toBe("x".repeat(32));
    try {
      loadConfig({ RTCGW_TOKEN_SECRET: "too-short-secret-value" });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/RTCGW_TOKEN_SECRET must be at least 32 characters/);
      expect((e as Error).message).not.toContain("too-short-secret-value");
    }
  });

  it("refuses an API token the Bearer header cannot carry (RFC 6750 token68), naming the allowed characters, never the token", () => {
    for (const ok of [
      "tok-0123456789abcdef",
      "A1b2.C3d4_E5f6~G7+h8/I9",
      "abcdefghijklmnop==",
      "0123456789abcdefghij",
    ])
      expect(loadConfig({ RTCGW_API_TOKEN: ok }).RTCGW_API_TOKEN, ok).toBe(ok);
    for (const bad of [
      "abcdefgh ijklmnop",
      "abcdefghijklmnop!",
      "abc$defghijklmnop",
      "abc:defghijklmnop",
      "abc=defghijklmnop",
      'abcdefghijklmnop"',
      "abcdefghijklmnopé",
    ]) {
      let err: unknown;
      try {
        loadConfig({ RTCGW_API_TOKEN: bad });
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(ConfigError);
      const message = (err as ConfigError).message;
      expect(message).toMatch(
        /RTCGW_API_TOKEN may contain only A-Z a-z 0-9 - \. _ ~ \+ \/ and, at its end only, =/,
      );
      expect(message).not.toContain(bad);
    }
    // both problems of a short, bad token are named
    expect(() => loadConfig({ RTCGW_API_TOKEN: "a b" })).toThrow(
      /at least 16 characters[\s\S]*may contain only/,
    );
  });

  it("parses every variable into its typed form", () => {
    const c = loadConfig({
      PORT: "3000",
      NODE_PORT: "3001",
      RTCGW_REGISTRY: "redis://127.0.0.1:6379/2",
      RTCGW_NODE_SECRET: "0123456789abcdef0123",
      RTCGW_API_TOKEN: "tok-0123456789abcdef",
      MEDIA_UDP_PORT: "40000",
      MEDIA_BIND_ADDRESS: "0.0.0.0",
      MEDIA_ANNOUNCED_ADDRESS: "203.0.113.7",
      RTCGW_ICE_SERVERS: "stun:stun.example.org:3478, stun:stun2.example.org",
      RECORDINGS_DIR: "/var/rec",
      LOG_LEVEL: "debug",
    });
    expect(c.PORT).toBe(3000);
    expect(c.RTCGW_REGISTRY).toEqual({ kind: "redis", url: "redis://127.0.0.1:6379/2" });
    expect(c.MEDIA_ANNOUNCED_ADDRESS).toBe("203.0.113.7");
    expect(c.RTCGW_ICE_SERVERS).toEqual(["stun:stun.example.org:3478", "stun:stun2.example.org"]);
    expect(c.LOG_LEVEL).toBe("debug");
  });

  it("treats empty strings as unset", () => {
    expect(loadConfig({ PORT: "", RTCGW_API_TOKEN: "" }).PORT).toBe(8080);
  });

  it("names every bad variable in one error, with what it expects", () => {
    let err: unknown;
    try {
      loadConfig({
        PORT: "eighty",
        LOG_LEVEL: "loud",
        MEDIA_BIND_ADDRESS: "somewhere",
        RTCGW_REGISTRY: "mysql://x",
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join("\n");
    expect(problems).toMatch(/PORT must be a port number/);
    expect(problems).toMatch(/LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/);
    expect(problems).toMatch(/MEDIA_BIND_ADDRESS must be an IPv4 address/);
    expect(problems).toMatch(/RTCGW_REGISTRY.*expected "memory", "redis:\/\/host:port" or "dynamodb:TABLE"/);
    expect((err as ConfigError).problems).toHaveLength(4);
  });

  it("never echoes a secret's value in its error", () => {
    try {
      loadConfig({ RTCGW_NODE_SECRET: "short-secret" });
      expect.unreachable();
    } catch (e) {
      expect((e as ConfigError).message).toMatch(/RTCGW_NODE_SECRET must be at least 16 characters/);
      expect((e as ConfigError).message).not.toContain("short-secret");
    }
  });

  it("takes 0 for any free port", () => {
    const c = loadConfig({ PORT: "0", NODE_PORT: "0", MEDIA_UDP_PORT: "0" });
    expect([c.PORT, c.NODE_PORT, c.MEDIA_UDP_PORT]).toEqual([0, 0, 0]);
  });

  it("refuses ports out of range and malformed ICE servers", () => {
    expect(() => loadConfig({ NODE_PORT: "70000" })).toThrow(/NODE_PORT must be a port number/);
    expect(() => loadConfig({ PORT: "-1" })).toThrow(/PORT must be a port number/);
    expect(() => loadConfig({ RTCGW_ICE_SERVERS: "http://nope" })).toThrow(/must be a stun: URL/);
    // a TURN server here would go to clients with no credential (Chromium refuses to apply it), or
    // with the one written in its URL (to every client)
    expect(() => loadConfig({ RTCGW_ICE_SERVERS: "turn:turn.example.org" })).toThrow(
      /TURN goes in RTCGW_TURN_URLS/,
    );
    expect(() => loadConfig({ RTCGW_ICE_SERVERS: "stun:alice:s3cret@stun.example.org" })).toThrow(
      /no credentials/,
    );
    expect(() => loadConfig({ RTCGW_ICE_SERVERS: 'stun:h;x="y"' })).toThrow(/no credentials/);
    // what would break the Link header a TURN URL is sent in, refused at start (the registry's rule)
    expect(() =>
      loadConfig({ RTCGW_TURN_SECRET: "0123456789abcdef", RTCGW_TURN_URLS: 'turn:t.example:3478;x="y"' }),
    ).toThrow(/RTCGW_TURN_URLS/);
    expect(() => loadConfig({ RTCGW_NODE_TURN_URLS: "turn:203.0.113.7:3478;transport=udp" })).toThrow(
      /RTCGW_NODE_TURN_URLS/,
    );
  });
});

describe("parseRegistryUrl", () => {
  it("knows the three stores", () => {
    expect(parseRegistryUrl("memory")).toEqual({ kind: "memory" });
    expect(parseRegistryUrl("rediss://h:6380")).toEqual({ kind: "redis", url: "rediss://h:6380" });
    expect(parseRegistryUrl("dynamodb:rtcgw-registry")).toEqual({
      kind: "dynamodb",
      table: "rtcgw-registry",
    });
    expect(parseRegistryUrl("dynamodb:t_1@http://127.0.0.1:4567")).toEqual({
      kind: "dynamodb",
      table: "t_1",
      endpoint: "http://127.0.0.1:4567",
    });
  });
  it("refuses anything else with the expected forms", () => {
    expect(() => parseRegistryUrl("dynamodb:")).toThrow(/dynamodb:TABLE/);
    expect(() => parseRegistryUrl("postgres://x")).toThrow(/not a registry/);
    expect(() => loadConfig({ RTCGW_REGISTRY: "mysql://u:pw@h" })).toThrow(/got "mysql:\/\/\*\*\*@h"/);
  });
});

describe("loadConfigOrExit", () => {
  it("exits 2 with the problems and no stack trace", () => {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "-e", "import('./src/config/index.ts').then(m => m.loadConfigOrExit())"],
      { env: { ...process.env, PORT: "nope", LOG_LEVEL: "x" }, encoding: "utf8" },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/rtcgw: invalid configuration/);
    expect(r.stderr).toMatch(/PORT must be a port number/);
    expect(r.stderr).toMatch(/LOG_LEVEL must be one of/);
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it("exits 2 naming a bad RTCGW_RECORDINGS_MIN_FREE_MB", () => {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "-e", "import('./src/config/index.ts').then(m => m.loadConfigOrExit())"],
      { env: { ...process.env, RTCGW_RECORDINGS_MIN_FREE_MB: "1G" }, encoding: "utf8" },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /RTCGW_RECORDINGS_MIN_FREE_MB must be a number of MiB \(0 = no floor\) \(got "1G"\)/,
    );
  });

  it("exits 2 for an API token no Bearer header can carry", () => {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "-e", "import('./src/config/index.ts').then(m => m.loadConfigOrExit())"],
      { env: { ...process.env, RTCGW_API_TOKEN: "s3cret:with-a-colon!" }, encoding: "utf8" },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/RTCGW_API_TOKEN may contain only/);
    expect(r.stderr).not.toContain("s3cret:with-a-colon!");
  });
});
