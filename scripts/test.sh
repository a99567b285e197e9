#!/usr/bin/env bash
# The whole test suite from a fresh clone: system packages, npm packages, checks, build, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
echo "== wasm: rebuild from source and compare with the committed pkg/"
bash wasm/resampler/build.sh --check
echo "== typecheck"
npm run -s typecheck
echo "== lint"
npm run -s lint
echo "== bundle functions"
npm run -s build
echo "== tests"
npx vitest run
