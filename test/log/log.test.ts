import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, sessionLogger } from "../../src/log/index.js";

function capture(level = "info") {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on("data", (b: Buffer) => {
    for (const l of b.toString().split("\n")) if (l.trim()) lines.push(JSON.parse(l));
  });
  return { logger: createLogger({ level, destination: stream }), lines };
}

describe("logging", () => {
  it("writes JSON lines with a level label and ISO time", async () => {
    const { logger, lines } = capture();
    logger.info({ a: 1 }, "hello");
    await new Promise((r) => setImmediate(r));
    expect(lines[0]).toMatchObject({ level: "info", msg: "hello", a: 1 });
    expect(String(lines[0]!.time)).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it("puts the session id on every line of a session logger", async () => {
    const { logger, lines } = capture("debug");
    const s = sessionLogger(logger, "sess-123", { nodeId: "n1" });
    s.debug("rtp in");
    s.warn("late packet");
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toMatchObject({ sessionId: "sess-123", nodeId: "n1" });
  });

  it("respects the level", async () => {
    const { logger, lines } = capture("warn");
    logger.info("quiet");
    logger.error("loud");
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l.msg)).toEqual(["loud"]);
  });

  it("never logs secrets", async () => {
    const { logger, lines } = capture();
    logger.info({ token: "t0ps3cret", headers: { authorization: "Bearer abc" }, req: { secret: "s3" } }, "x");
    await new Promise((r) => setImmediate(r));
    const text = JSON.stringify(lines);
    expect(text).not.toContain("t0ps3cret");
    expect(text).not.toContain("Bearer abc");
    expect(text).not.toContain('"s3"');
    expect(text).toContain("[redacted]");
  });
});
