#!/usr/bin/env bash
# Build wasm/resampler/pkg/ from source, offline, reproducibly:
#   Debian rustc (wasm32-unknown-unknown std from libstd-rust-dev-wasm32) -> wasm-opt (binaryen)
#   -> two modules (scalar, simd128) + the hand-written loader, .d.ts and package.json from js/.
#
#   build.sh           rebuild pkg/ in place
#   build.sh --check   rebuild into a temp dir and fail if any byte differs from the committed pkg/
#
# No absolute path or timestamp reaches the bytes: --remap-path-prefix, no debuginfo, panic=abort,
# symbols stripped, producers section stripped.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUSTC="${RUSTC:-/usr/bin/rustc}"
WASM_OPT="${WASM_OPT:-wasm-opt}"
NAME=rtcgw_resampler
# The bytes are reproducible for a given toolchain; pkg/ is committed from this one (Debian bookworm):
TOOLCHAIN="rustc 1.63.0, LLD 14.0.6, wasm-opt version 108"

check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *) echo "usage: build.sh [--check]" >&2; exit 2 ;;
esac

for tool in "$RUSTC" "$WASM_OPT"; do
  command -v "$tool" >/dev/null || { echo "build.sh: '$tool' not found (apt-get install rustc libstd-rust-dev-wasm32 binaryen)" >&2; exit 2; }
done
[ -d "$("$RUSTC" --print sysroot)/lib/rustlib/wasm32-unknown-unknown" ] ||
  { echo "build.sh: $RUSTC has no wasm32-unknown-unknown std (apt-get install libstd-rust-dev-wasm32)" >&2; exit 2; }
# Debian's rustc links wasm with rust-lld -> lld-14 (package lld-14, only Recommended by rustc)
command -v rust-lld >/dev/null && [ -e "$(command -v rust-lld)" ] ||
  { echo "build.sh: rust-lld missing or dangling (apt-get install lld-14)" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out="$work/pkg"
mkdir -p "$out"

compile() { # $1 = output file, $2 = extra wasm-opt flags, $3.. = extra rustc flags
  local dst="$1" optflags="$2"; shift 2
  (cd "$HERE" && "$RUSTC" --edition 2021 --crate-type cdylib --crate-name "$NAME" \
    --target wasm32-unknown-unknown \
    -C opt-level=3 -C codegen-units=1 -C lto=fat -C panic=abort -C debuginfo=0 -C strip=symbols \
    --remap-path-prefix "$HERE=/rtcgw/wasm/resampler" \
    --remap-path-prefix "$HOME=/home" \
    "$@" src/lib.rs -o "$work/raw.wasm")
  # shellcheck disable=SC2086
  "$WASM_OPT" -O3 --strip-debug --strip-producers $optflags \
    "$work/raw.wasm" -o "$dst"
  rm -f "$work/raw.wasm"
}

compile "$out/${NAME}_bg.wasm" ""
compile "$out/${NAME}_simd_bg.wasm" --enable-simd -C target-feature=+simd128
cp "$HERE/js/${NAME}.js" "$HERE/js/${NAME}.d.ts" "$HERE/js/package.json" "$out/"

if [ "$check" = 1 ]; then
  if [ ! -d "$HERE/pkg" ]; then echo "build.sh --check: no committed pkg/ to compare" >&2; exit 1; fi
  if ! diff -r "$out" "$HERE/pkg" >"$work/diff.txt" 2>&1; then
    echo "build.sh --check: pkg/ differs from a fresh build of the sources:" >&2
    cat "$work/diff.txt" >&2
    echo "toolchain here: $("$RUSTC" -V), $(rust-lld -flavor wasm --version 2>/dev/null), $("$WASM_OPT" --version)" >&2
    echo "committed pkg/ was built with: $TOOLCHAIN" >&2
    echo "if the sources changed: run 'npm run build:wasm' and commit wasm/resampler/pkg/;" >&2
    echo "if only the toolchain differs: build with the versions above (Debian bookworm packages)" >&2
    exit 1
  fi
  echo "build.sh --check: pkg/ matches the sources byte for byte"
else
  rm -rf "$HERE/pkg"
  cp -r "$out" "$HERE/pkg"
  ls -l "$HERE/pkg"
fi
