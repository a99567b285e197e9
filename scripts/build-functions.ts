// `npm run build`: bundles each lambda handler (functions/<name>/index.ts) with esbuild into
// dist/functions/<name>/index.mjs — one self-contained ESM file per function, Node 20 — and
// prints a size report. RTCGW_BUNDLE_REGISTRY is defined per target store, so the registry's
// other stores and their SDKs are dead code and left out (src/registry/open.ts). The function path
// validates with zod/mini, whose unused parts (every locale but the English one contract.ts
// installs) esbuild tree-shakes away.
//
//   npm run build                          # dynamodb store (the cloud default)
//   npm run build -- --registry redis      # or memory | redis | dynamodb
//   npm run build -- --out dist/x --json   # machine-readable report
import { mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { HANDLER_NAMES, type HandlerName } from "../src/signaling/routes.js";

export type BundleRegistry = "memory" | "redis" | "dynamodb";
const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));

export interface BundleReport {
  name: HandlerName;
  file: string;
  bytes: number;
  gzipBytes: number;
}

export async function buildFunctions(
  o: { registry?: BundleRegistry; outDir?: string; minify?: boolean } = {},
): Promise<BundleReport[]> {
  const registry = o.registry ?? "dynamodb";
  const outDir = resolve(ROOT, o.outDir ?? "dist/functions");
  rmSync(outDir, { recursive: true, force: true });
  const reports: BundleReport[] = [];
  for (const name of HANDLER_NAMES) {
    const file = join(outDir, name, "index.mjs");
    mkdirSync(join(outDir, name), { recursive: true });
    await build({
      entryPoints: [join(ROOT, "functions", name, "index.ts")],
      outfile: file,
      bundle: true,
      platform: "node",
      target: "node20",
      format: "esm",
      minify: o.minify ?? true,
      sourcemap: false,
      legalComments: "none",
      logLevel: "warning",
      define: { "process.env.RTCGW_BUNDLE_REGISTRY": JSON.stringify(registry) },
      // CommonJS dependencies (pino) call require(): give ESM one
      banner: {
        js: 'import { createRequire as __rtcgwCreateRequire } from "node:module"; const require = __rtcgwCreateRequire(import.meta.url);',
      },
    });
    const bytes = statSync(file).size;
    reports.push({ name, file, bytes, gzipBytes: gzipSync(readFileSync(file)).length });
  }
  return reports;
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

export function formatReport(reports: BundleReport[], registry: string): string {
  const lines = [
    `function bundles (registry store: ${registry})`,
    "",
    "| function | bundle | gzip |",
    "|---|---:|---:|",
  ];
  for (const r of reports) lines.push(`| ${r.name} | ${kb(r.bytes)} | ${kb(r.gzipBytes)} |`);
  return lines.join("\n");
}

async function main() {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(name);
    return i === -1 ? undefined : args[i + 1];
  };
  const registry = (arg("--registry") ?? "dynamodb") as BundleRegistry;
  if (!["memory", "redis", "dynamodb"].includes(registry)) {
    process.stderr.write(`build-functions: --registry must be memory, redis or dynamodb (got ${registry})\n`);
    process.exit(2);
  }
  const reports = await buildFunctions({ registry, ...(arg("--out") ? { outDir: arg("--out")! } : {}) });
  if (args.includes("--json")) process.stdout.write(`${JSON.stringify({ registry, reports }, null, 2)}\n`);
  else
    process.stdout.write(
      `${formatReport(reports, registry)}\n\nwritten to ${join(ROOT, arg("--out") ?? "dist/functions")}\n`,
    );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    process.stderr.write(`build-functions: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
