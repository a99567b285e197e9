#!/usr/bin/env bash
# Installs the Debian packages the tests and the WASM build need, only those missing.
#   redis-server            the Redis registry store's contract tests
#   chromium                the browser end-to-end tests (driven by playwright-core)
#   rustc, libstd-rust-dev-wasm32, lld-14, binaryen   building wasm/resampler (wasm-opt from binaryen)
#   python3-aiortc          an independent WebRTC client for interop tests, and the TURN-over-TCP/TLS client (turn-tcp.test.ts)
#   sox                     inspecting recordings by ear and by tool
#   coturn                  a real TURN server (turnserver) for the TURN relay tests (test/e2e/turn*.test.ts)
#   libjemalloc2            the allocator `rtcgw node` preloads in its workers (allocator.test.ts, bench:churn)
#   curl                    the media node bootstrap (IMDS, health wait), run by the deploy rehearsal
#   oggz-tools              oggz-validate: the recordings' Ogg checked by Xiph's validator (record-edges.test.ts)
#   prometheus              for its promtool: a node's /metrics linted as Prometheus reads it (metrics-lint.test.ts)
#   gstreamer1.0-* , gir1.2-gst-plugins-{bad,base}-1.0, python3-gi
#                           GStreamer's webrtcbin as an independent WHIP client (recording-length tests)
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v chromium >/dev/null || need+=(chromium)
[ -x /usr/bin/rustc ] || need+=(rustc)
[ -d /usr/lib/rustlib/wasm32-unknown-unknown ] || need+=(libstd-rust-dev-wasm32)
# rustc links wasm through /usr/bin/rust-lld -> lld-14, which rustc only recommends
[ -e /usr/bin/lld-14 ] || need+=(lld-14)
command -v wasm-opt >/dev/null || need+=(binaryen)
/usr/bin/python3 -c 'import aiortc' 2>/dev/null || need+=(python3-aiortc)
command -v sox >/dev/null || need+=(sox)
command -v turnserver >/dev/null || need+=(coturn)
command -v curl >/dev/null || need+=(curl)
command -v promtool >/dev/null || need+=(prometheus)
command -v oggz-validate >/dev/null || need+=(oggz-tools)
ls /usr/lib/*-linux-gnu/libjemalloc.so.2 >/dev/null 2>&1 || need+=(libjemalloc2)
command -v gst-inspect-1.0 >/dev/null || need+=(gstreamer1.0-tools)
gst-inspect-1.0 webrtcbin >/dev/null 2>&1 || need+=(gstreamer1.0-plugins-bad gstreamer1.0-nice)
gst-inspect-1.0 opusenc >/dev/null 2>&1 || need+=(gstreamer1.0-plugins-base)
gst-inspect-1.0 rtpopuspay >/dev/null 2>&1 || need+=(gstreamer1.0-plugins-good)
/usr/bin/python3 -c 'import gi; gi.require_version("GstWebRTC", "1.0"); gi.require_version("GstSdp", "1.0")' 2>/dev/null ||
  need+=(python3-gi gir1.2-gst-plugins-bad-1.0 gir1.2-gst-plugins-base-1.0)
if [ ${#need[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
echo "system packages: installing ${need[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
# only promtool is wanted from the prometheus package: where the machine starts services on install
# (no policy-rc.d), its server would hold port 9090, the media node's default control port
if [[ " ${need[*]} " == *" prometheus "* ]] && pgrep -x prometheus >/dev/null; then
  $SUDO systemctl disable --now prometheus 2>/dev/null || $SUDO service prometheus stop 2>/dev/null || true
fi
