// A node's /metrics as Prometheus' own linter reads it (`promtool check metrics`, Debian's
// `prometheus` package): durations in seconds in every name, `_total` only on counters, no
// `quantile` label outside a summary. After a call has run and ended, so that the metrics a
// session's teardown adds (teardown reasons, connect time, RTP counts) are in the text too.
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientPeer } from "../support/client-peer.js";
import { type Harness, startHarness, waitFor } from "./harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("/metrics under promtool", () => {
  it("`promtool check metrics` finds nothing to say, after a call", async () => {
    const c = await ClientPeer.create();
    const r = await h.createSession(c.offer, { profile: "echo" });
    expect(r.status).toBe(201);
    c.accept(r.json.answer);
    await c.connected(5000);
    await new Promise((x) => setTimeout(x, 300));
    await c.close();
    await waitFor(() => h.node.sessions() === 0, 5000, "the session ended");

    const text = await (await fetch(`${h.node.controlUrl}/metrics`)).text();
    expect(text).toMatch(/^rtcgw_session_teardowns_total\{/m);
    expect(text).toMatch(/^rtcgw_event_loop_delay_seconds\{[^}]*stat="p99"/m);
    const lint = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(lint.error, "promtool missing: bash scripts/install-system-deps.sh").toBeUndefined();
    expect(`${lint.stdout}${lint.stderr}`.trim()).toBe("");
    expect(lint.status).toBe(0);
  });
});
