// The import graph of src/ and functions/, its circles, and the layer table of docs/design.md
// (test/design/imports.test.ts checks one against the other). Imports are found by TypeScript's
// own preprocessor (import, import type, export … from, import(), require), so a type-only arrow
// counts like any other: it is still a dependency a reader follows.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const ROOT = resolve(import.meta.dirname, "../..");
const SOURCES = ["src", "functions"];

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** repository-relative path of the file a relative specifier names ("./x.js" → "src/a/x.ts") */
function resolveSpecifier(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined; // a package or node: builtin
  const base = resolve(dirname(join(ROOT, from)), spec);
  for (const candidate of [base.replace(/\.js$/, ".ts"), base, `${base}.ts`, join(base, "index.ts")]) {
    try {
      if (statSync(candidate).isFile()) return relative(ROOT, candidate);
    } catch {}
  }
  return relative(ROOT, base); // outside the checked sources (wasm/…): named as written
}

export type Graph = Map<string, string[]>;

export function importGraph(): Graph {
  const graph: Graph = new Map();
  for (const dir of SOURCES)
    for (const abs of tsFiles(join(ROOT, dir))) {
      const file = relative(ROOT, abs);
      const info = ts.preProcessFile(readFileSync(abs, "utf8"), true, true);
      const deps = info.importedFiles
        .map((f) => resolveSpecifier(file, f.fileName))
        .filter((d): d is string => d !== undefined);
      graph.set(file, [...new Set(deps)]);
    }
  return graph;
}

/** every circle, as the files on it (Tarjan's strongly connected components, plus self-imports) */
export function circles(graph: Graph): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

export interface Layer {
  path: string;
  face?: string;
  mayImport: string[];
}

/** the table between `<!-- import-rules -->` and `<!-- /import-rules -->` in docs/design.md */
export function designLayers(): Layer[] {
  const doc = readFileSync(join(ROOT, "docs/design.md"), "utf8");
  const block = /<!-- import-rules -->([\s\S]*?)<!-- \/import-rules -->/.exec(doc)?.[1];
  if (!block) throw new Error("docs/design.md has no <!-- import-rules --> table");
  const layers: Layer[] = [];
  for (const line of block.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 5 || !cells[1]!.startsWith("`")) continue;
    const code = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/\/$/, ""));
    const face = code(cells[2]!)[0];
    layers.push({ path: code(cells[1]!)[0]!, ...(face ? { face } : {}), mayImport: code(cells[3]!) });
  }
  return layers;
}

/** the layer a file belongs to: the longest layer path it sits under */
function layerOf(layers: Layer[], file: string): Layer | undefined {
  return layers
    .filter((l) => file === l.path || file.startsWith(`${l.path}/`))
    .sort((a, b) => b.path.length - a.path.length)[0];
}

/** every import that runs against the table, as "from → to (why)" */
export function violations(graph: Graph, layers: Layer[]): string[] {
  const out: string[] = [];
  for (const [from, deps] of graph) {
    const a = layerOf(layers, from);
    if (!a) {
      out.push(`${from}: in no layer of docs/design.md`);
      continue;
    }
    for (const to of deps) {
      const b = layerOf(layers, to);
      if (!b) {
        out.push(`${from} → ${to}: the target is in no layer of docs/design.md`);
        continue;
      }
      if (a === b) {
        // inside a layer anything goes, except going round through its own face
        if (a.face && to === a.face && from !== a.face) out.push(`${from} → ${to} (a layer's own face)`);
        continue;
      }
      if (!a.mayImport.includes(b.path)) out.push(`${from} → ${to} (${a.path} may not import ${b.path})`);
      else if (b.face && to !== b.face) out.push(`${from} → ${to} (${b.path} is imported through ${b.face})`);
    }
  }
  return out;
}
