// The import graph of src/ (and functions/) against docs/design.md: no circle between files, and
// every import from one layer to another is one the design's table allows ("may import"), through
// the layer's face where the table names one. The table is read from docs/design.md itself, so
// the document and this check cannot drift apart.
import { describe, expect, it } from "vitest";
import { circles, designLayers, type Graph, importGraph, violations } from "./import-graph.js";

describe("the import graph follows docs/design.md", () => {
  const graph = importGraph();
  const layers = designLayers();

  it("reads the design's table and the whole source tree", () => {
    expect(layers.length).toBeGreaterThan(10);
    expect(graph.size).toBeGreaterThan(140);
    // the check itself can fail: a made-up arrow against the table is caught, a made-up circle too
    const bad: Graph = new Map([
      ["src/media/x.ts", ["src/node/sessions/peer-session.ts"]],
      ["src/a/p.ts", ["src/a/q.ts"]],
      ["src/a/q.ts", ["src/a/p.ts"]],
    ]);
    expect(violations(bad, layers)).toContain(
      "src/media/x.ts → src/node/sessions/peer-session.ts (src/media may not import src/node)",
    );
    expect(circles(bad)).toEqual([["src/a/p.ts", "src/a/q.ts"]]);
  });

  it("has no import circle", () => {
    expect(circles(graph)).toEqual([]);
  });

  it("has no import against the directions", () => {
    expect(violations(graph, layers)).toEqual([]);
  });
});
