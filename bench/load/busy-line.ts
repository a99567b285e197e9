// Which of the load guard's lines drew a 503 (src/node/process/load-guard.ts): its `reason`
// names it. The benches count refusals by line, so a run says whether the CPU, the event loop or
// the media clock's lag refused — not just that something did.
export type BusyLine = "cpu" | "lag" | "loop" | "node-busy" | string;

export function busyLine(r: { status: number; json?: { error?: string; reason?: string } }): BusyLine {
  const why = r.json?.reason ?? "";
  if (r.json?.error !== "node-busy") return r.json?.error ?? String(r.status);
  if (/CPU/.test(why)) return "cpu";
  if (/lagging/.test(why)) return "lag";
  if (/loop/.test(why)) return "loop";
  return "node-busy";
}
