// Two V8 heap snapshots compared by what the heap holds: objects counted and summed (self size)
// by constructor / closure name, the groups that grew the most first. A leak shows up as a group
// whose count grows with the cycles (PeerSession ×1000, a Map's entries, listeners…).
//
//   npx tsx bench/load/heap-diff.ts before.heapsnapshot after.heapsnapshot [top=25]
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

type Groups = Map<string, { count: number; size: number }>;

export function groups(file: string): Groups {
  const s = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = fields.length;
  const [iType, iName, iSize] = ["type", "name", "self_size"].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const out: Groups = new Map();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType]!]!;
    // strings and numbers are named by their content: group them by type alone
    const name =
      type === "object" || type === "closure" || type === "native"
        ? `${type} ${s.strings[s.nodes[i + iName]!]}`
        : `(${type})`;
    const g = out.get(name) ?? { count: 0, size: 0 };
    g.count++;
    g.size += s.nodes[i + iSize]!;
    out.set(name, g);
  }
  return out;
}

if (process.argv[1]?.endsWith("heap-diff.ts")) {
  const [a, b, top = "25"] = process.argv.slice(2);
  if (!a || !b) {
    console.error("usage: heap-diff.ts before.heapsnapshot after.heapsnapshot [top]");
    process.exit(2);
  }
  const before = groups(a);
  const after = groups(b);
  const rows = [...new Set([...before.keys(), ...after.keys()])].map((name) => {
    const x = before.get(name) ?? { count: 0, size: 0 };
    const y = after.get(name) ?? { count: 0, size: 0 };
    return { name, count: y.count - x.count, size: y.size - x.size, after: y.count };
  });
  const total = (g: Groups) => [...g.values()].reduce((t, v) => t + v.size, 0);
  console.log(
    `heap: ${(total(before) / 2 ** 20).toFixed(2)} → ${(total(after) / 2 ** 20).toFixed(2)} MB (self sizes)`,
  );
  console.log("  Δ bytes     Δ count   count after  group");
  for (const r of rows.sort((p, q) => q.size - p.size).slice(0, Number(top))) {
    console.log(
      `  ${String(r.size).padStart(9)} ${String(r.count).padStart(10)} ${String(r.after).padStart(12)}  ${r.name.slice(0, 90)}`,
    );
  }
}
