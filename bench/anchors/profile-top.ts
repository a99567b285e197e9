// Where a node process's time went, from a V8 CPU profile (`node --cpu-prof`, e.g. written by
// `npm run bench:sessions -- --anchors --only rtcgw:echo --n 50 --cpu-prof-dir DIR`, which also
// prints the measurement window's offsets from the process start): self time per JS function
// (file:line:column of the code tsx ran), WASM time rolled up under the JS function that called
// into it (the Opus codec, the resampler), as a share of the busy samples and, with --sessions,
// in µs per session-frame (50 frames per second per session). Native code (libdatachannel's
// send, SRTP, the callbacks' thread-safe functions) has no frames of its own: its time shows as
// the self time of the JS function that called it.
//
//   tsx bench/anchors/profile-top.ts DIR/CPU.*.cpuprofile [--from 12.3 --to 32.3] [--sessions 50] [--top 30]
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    sessions: { type: "string" },
    top: { type: "string", default: "30" },
    /** seconds after the profile's start: only samples between */
    from: { type: "string" },
    to: { type: "string" },
  },
});
interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface Node {
  id: number;
  callFrame: Frame;
  children?: number[];
}
const prof = JSON.parse(readFileSync(positionals[0]!, "utf8")) as {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
};
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const isWasm = (f: Frame) => f.url.startsWith("wasm:") || f.functionName.startsWith("wasm-function");
const name = (f: Frame) => {
  const where = f.url
    ? `${relative(process.cwd(), f.url.replace(/^file:\/\//, ""))}:${f.lineNumber + 1}:${f.columnNumber + 1}`
    : "";
  return `${f.functionName || "(anonymous)"} ${where}`.trim();
};
/** a sample's key: its function, or for WASM "wasm ← the JS function that called into it" */
const keyOf = new Map<number, string>();
function key(id: number): string {
  const hit = keyOf.get(id);
  if (hit) return hit;
  const f = byId.get(id)!.callFrame;
  let k = name(f);
  if (isWasm(f)) {
    let p = parent.get(id);
    while (p !== undefined && isWasm(byId.get(p)!.callFrame)) p = parent.get(p);
    k = `WASM called from ${p !== undefined ? name(byId.get(p)!.callFrame) : "?"}`;
  }
  keyOf.set(id, k);
  return k;
}
const from = values.from ? Number(values.from) * 1e6 : 0;
const to = values.to ? Number(values.to) * 1e6 : Number.POSITIVE_INFINITY;
const self = new Map<string, number>();
let t = 0;
let first = Number.NaN;
let last = 0;
prof.samples.forEach((id, i) => {
  t += prof.timeDeltas[i] ?? 0;
  if (t < from || t > to) return;
  if (Number.isNaN(first)) first = t;
  last = t;
  const dt = prof.timeDeltas[i + 1] ?? 0; // the time until the next sample belongs to this one
  const k = key(id);
  self.set(k, (self.get(k) ?? 0) + dt);
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = self.get("(idle)") ?? 0;
const busy = total - idle;
const spanS = (last - first) / 1e6;
const sessions = values.sessions ? Number(values.sessions) : undefined;
const frames = sessions ? sessions * 50 * spanS : undefined;
console.log(
  `${positionals[0]}: ${spanS.toFixed(1)} s (${(first / 1e6).toFixed(1)}–${(last / 1e6).toFixed(1)} s), busy ${((busy / total) * 100).toFixed(1)} % of the time${frames ? `, ${(busy / frames).toFixed(1)} µs per session-frame (${sessions} sessions × 50/s)` : ""}`,
);
console.log(`| function (self time) | ms | % of busy |${frames ? " µs per session-frame |" : ""}`);
console.log(`|---|---:|---:|${frames ? "---:|" : ""}`);
for (const [k, v] of [...self]
  .filter(([k]) => k !== "(idle)")
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(values.top)))
  console.log(
    `| ${k} | ${(v / 1000).toFixed(0)} | ${((v / busy) * 100).toFixed(1)} % |${frames ? ` ${(v / frames).toFixed(2)} |` : ""}`,
  );
