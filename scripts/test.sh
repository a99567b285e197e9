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
npx vitest run
