#!/usr/bin/env bash
# The whole test suite from a fresh clone: system packages, npm packages, checks, build, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
# `npm install`, not `npm ci`: the lock cannot list the optional per-platform binaries of
# @biomejs/biome that the registry reachable here does not carry, and `npm ci` refuses such a lock.
npm install --no-audit --no-fund
echo "== wasm: rebuild from source and compare with the committed pkg/"
bash wasm/resampler/build.sh --check
echo "== typecheck"
npm run -s typecheck
echo "== lint"
npm run -s lint
echo "== bundle functions"
npm run -s build
echo "== tests"
mkdir -p .tmp
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest-results.json || status=$?
echo "== fault suite (real processes killed for real)"
npm run -s test:faults || status=$?
# one plain closing line, whatever the reporter prints above it
node -e '
const r = JSON.parse(require("fs").readFileSync(".tmp/vitest-results.json", "utf8"));
const skipped = r.numPendingTests + r.numTodoTests;
console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || true
exit "$status"
