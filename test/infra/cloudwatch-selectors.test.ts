// The CloudWatch agent on a node instance ships the metrics infra/node/bootstrap.sh selects from
// each worker's /metrics: every selector must name a metric a node really exposes (one named
// `process_cpu_seconds_total` matched nothing — the node's registry prefixes every name with
// `rtcgw_` — so the CPU docs/deploy.md says is shipped never was).
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Harness, startHarness } from "../node/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({});
});
afterAll(async () => {
  await h?.close();
});

it("every metric selector of the CloudWatch agent's configuration matches a metric of a node's /metrics", async () => {
  const script = readFileSync(new URL("../../infra/node/bootstrap.sh", import.meta.url), "utf8");
  const m = /"metric_selectors":\s*\[([^\]]*)\]/.exec(script);
  expect(m).not.toBeNull();
  const selectors = [...m![1]!.matchAll(/"([^"]+)"/g)].map((x) => x[1]!);
  expect(selectors.length).toBeGreaterThan(3);
  const text = await (await fetch(`${h.node.controlUrl}/metrics`)).text();
  const names = new Set(
    text
      .split("\n")
      .filter((l) => l.startsWith("# TYPE "))
      .map((l) => l.split(" ")[2]!),
  );
  const unmatched = selectors.filter((s) => ![...names].some((n) => new RegExp(s).test(n)));
  expect(unmatched).toEqual([]);
});
