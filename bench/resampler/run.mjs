#!/usr/bin/env node
// npm run bench:resampler [-- <extra harness flags, e.g. --quick>]
//
// Runs the shared resampler harness (../shared/bench/resampler beside the repo root, or
// $RTCGW_RESAMPLER_BENCH_DIR) on our WASM resampler (bench/resampler/adapter.mjs: presets voice and hq)
// and, in the same process and run, on the anchor libsamplerate-js SRC_SINC_MEDIUM_QUALITY through the
// harness's own unmodified anchor adapter. `--strict` makes a missed target fail the command. Prints the harness table plus a check of the issue-3 targets,
// and writes both into docs/resampler.md between the bench markers.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const benchDir = path.resolve(
  process.env.RTCGW_RESAMPLER_BENCH_DIR ?? path.join(root, "../shared/bench/resampler"),
);
const harness = path.join(benchDir, "harness/resampler-bench.mjs");
const anchor = path.join(benchDir, "adapters/libsamplerate-js.mjs");
const ours = path.join(root, "bench/resampler/adapter.mjs");
const docs = path.join(root, "docs/resampler.md");
const ANCHOR = "libsamplerate-js:SRC_SINC_MEDIUM_QUALITY";

for (const f of [harness, anchor]) {
  if (!fs.existsSync(f)) {
    console.error(
      `bench:resampler: ${f} not found. Put the shared bench beside the repo (../shared) or set RTCGW_RESAMPLER_BENCH_DIR.`,
    );
    process.exit(2);
  }
}

// The anchor adapter require()s '@alexanderolsen/libsamplerate-js' from its own directory, where nothing
// is installed; our devDependency is. NODE_PATH adds our node_modules to require()'s search path.
const nodePath = [path.join(root, "node_modules"), process.env.NODE_PATH]
  .filter(Boolean)
  .join(path.delimiter);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rtcgw-resampler-bench-"));
const jsonFile = path.join(tmp, "results.json");
const mdFile = path.join(tmp, "results.md");
const args = ["--expose-gc", harness, ours, anchor, "--variant", `voice,hq,${ANCHOR.split(":")[1]}`];
const strict = process.argv.includes("--strict");
const extra = process.argv.slice(2).filter((a) => a !== "--strict");
args.push("--json", jsonFile, "--md", mdFile, ...extra);
const run = spawnSync(process.execPath, args, {
  stdio: ["ignore", "inherit", "inherit"],
  env: { ...process.env, NODE_PATH: nodePath },
});
if (run.status !== 0) {
  console.error(`bench:resampler: harness failed (exit ${run.status})`);
  process.exit(1);
}
const results = JSON.parse(fs.readFileSync(jsonFile, "utf8"));
const table = fs.readFileSync(mdFile, "utf8").trim();
fs.rmSync(tmp, { recursive: true, force: true });

// ---- targets of issue 3 --------------------------------------------------------------------------
const num = (v) => (typeof v === "string" ? Number(v) : v);
const runOf = (label) => results.runs.find((r) => r.label === label);
const pairOf = (label, i, o) => runOf(label)?.pairs.find((p) => p.inRate === i && p.outRate === o);
const tpOf = (label, i, o, ch = 1) =>
  num(
    runOf(label)?.throughput.find((t) => t.inRate === i && t.outRate === o && t.channels === ch)
      ?.inSamplesPerSec,
  );
const voiceDown = pairOf("rtcgw:voice", 48000, 16000);
const voiceUp = pairOf("rtcgw:voice", 16000, 48000);
const hqDown = pairOf("rtcgw:hq", 48000, 16000);
const ratio = tpOf("rtcgw:voice", 48000, 16000) / tpOf(ANCHOR, 48000, 16000);
const thd7k = num(voiceUp?.tones.find((t) => t.f === 7000)?.thdnDb);
const rows = [
  [
    "voice 48k->16k worst alias >= 8.8 kHz",
    num(voiceDown?.worstAliasStopbandDb),
    "dB",
    (v) => v <= -110,
    "<= -110",
  ],
  ["voice 48k->16k -3 dB bandwidth", num(voiceDown?.edge3), "% Nyq", (v) => v >= 90, ">= 90"],
  ["voice 48k->16k total latency", num(voiceDown?.latency.totalMs), "ms", (v) => v <= 3, "<= 3"],
  ["voice 48k->16k throughput vs anchor (same run)", ratio, "x", (v) => v >= 10, ">= 10"],
  ["voice 16k->48k THD+N at 7 kHz", thd7k, "dB", (v) => v >= 110, ">= 110"],
  [
    "hq 48k->16k worst alias >= 8.8 kHz",
    num(hqDown?.worstAliasStopbandDb),
    "dB",
    (v) => v <= -140,
    "<= -140",
  ],
  ["hq 48k->16k total latency", num(hqDown?.latency.totalMs), "ms", (v) => v <= 10, "<= 10"],
];
const fmt = (v) =>
  v === undefined || Number.isNaN(v) ? "n/a" : Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(2);
const check = [
  "| target (issue 3) | measured | goal | |",
  "|---|---|---|---|",
  ...rows.map(([what, v, unit, ok, goal]) => {
    const measured = v !== undefined && !Number.isNaN(v);
    const verdict = !measured ? "not measured (section skipped)" : ok(v) ? "met" : "NOT MET";
    return `| ${what} | ${fmt(v)} ${unit} | ${goal} | ${verdict} |`;
  }),
].join("\n");
const anchorLine =
  `anchor in the same run: ${ANCHOR} 48k->16k ${fmt(tpOf(ANCHOR, 48000, 16000) / 1e6)} Msamples/s, ` +
  `ours (voice) ${fmt(tpOf("rtcgw:voice", 48000, 16000) / 1e6)} Msamples/s`;
console.log(`\n${check}\n\n${anchorLine}`);

// ---- docs/resampler.md ---------------------------------------------------------------------------
const stamp =
  `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC by \`npm run bench:resampler` +
  `${extra.length ? ` -- ${extra.join(" ")}` : ""}\`; load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" / ")} ` +
  `(${os.cpus().length} cores): absolute throughput on a busy machine is noisy, the ratio to the anchor measured in the same run is the figure to read.`;
const block = `<!-- bench:start -->\n${stamp}\n\n${check}\n\n${anchorLine}\n\n${table}\n<!-- bench:end -->`;
if (fs.existsSync(docs)) {
  const text = fs.readFileSync(docs, "utf8");
  const re = /<!-- bench:start -->[\s\S]*<!-- bench:end -->/;
  fs.writeFileSync(docs, re.test(text) ? text.replace(re, block) : `${text.trimEnd()}\n\n${block}\n`);
  console.log(`\nwritten to ${path.relative(process.cwd(), docs)}`);
}
const allMet = rows.every(([, v, , ok]) => v !== undefined && ok(v));
process.exit(strict && !allMet ? 1 : 0);
