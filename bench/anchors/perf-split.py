#!/usr/bin/env python3
# Where a node server's CPU goes, from `perf`: every sample of every thread, in µs per
# session-frame, split the way docs/benchmarks.md reads it — WASM by the JS function that called
# it (the Opus encoder, the decoder), JS by file, the `node` binary, the kernel, libc and
# node-datachannel's glue on the main thread, and the other threads by name (libdatachannel's
# `RTC worker`, libjuice's `juice mux`, …).
#
#   NODE_OPTIONS=--perf-basic-prof npm run bench:sessions -- --anchors --only rtcgw:echo --n 25 --duration 22 &
#   perf record -e cpu-clock -c 250000 -g -p <server pid> -o echo.data -- sleep 14   # inside the window
#   perf script -i echo.data -F comm,tid,ip,sym,dso > echo.txt
#   python3 bench/anchors/perf-split.py echo.txt --sessions 25 --seconds 14 [--tids 935,936]
#
# `-c 250000` samples every 250 µs of CPU (a fixed period: perf's default frequency mode gives a
# thread that sleeps between packets almost no samples). --perf-basic-prof lets perf name the JS
# and WASM frames. µs per session-frame = samples × 250 ÷ (sessions × 50 frames/s × seconds).
import argparse
import collections
import re

ap = argparse.ArgumentParser()
ap.add_argument("script", help="perf script -F comm,tid,ip,sym,dso output")
ap.add_argument("--sessions", type=int, required=True)
ap.add_argument("--seconds", type=float, required=True)
ap.add_argument("--period-us", type=float, default=250.0)
ap.add_argument("--tids", help="only these thread ids (comma-separated)")
ap.add_argument("--top", type=int, default=30)
a = ap.parse_args()
tids = set(a.tids.split(",")) if a.tids else None

SOURCE = re.compile(r"([\w.-]+\.(?:ts|js|mjs))")
FUNC = re.compile(r"JS:[*~^]?\s*([#\w$]+)")


def category(comm, stack):
    sym, dso = stack[0]
    if comm != "node":  # libdatachannel's and libjuice's threads, V8's are named "node" too
        return "thread: " + comm
    if "wasm-function" in sym:
        caller = next(
            (s for s, _ in stack if s.startswith("JS:") and "wasm-function" not in s and "js-to-wasm" not in s), "?"
        )
        f, src = FUNC.search(caller), SOURCE.search(caller)
        return f"wasm, called by {f.group(1) if f else '?'} ({src.group(1) if src else '?'})"
    if sym.startswith("JS:"):
        src = SOURCE.search(sym)
        return "js: " + (src.group(1) if src else "node internals")
    if "kernel" in dso:
        return "kernel"
    lib = dso.split("/")[-1]
    return "node binary" if lib == "node" else "native: " + lib


counts = collections.Counter()
comm, tid, stack = None, None, []


def flush():
    if stack and (tids is None or tid in tids):
        counts[category(comm, stack)] += 1


for line in open(a.script, errors="replace"):
    if not line.strip():
        flush()
        stack = []
        continue
    if not line.startswith(("\t", " ")):
        head = line.split()
        # "comm tid" — a comm may hold spaces ("RTC worker"): the tid is the first number
        i = next((k for k, p in enumerate(head) if p.isdigit()), len(head))
        comm, tid = " ".join(head[:i]) or "?", head[i] if i < len(head) else None
        continue
    parts = line.strip().split(None, 1)
    if len(parts) < 2:
        continue
    m = re.match(r"(.*) \(([^)]*)\)$", parts[1])
    sym, dso = (m.group(1), m.group(2)) if m else (parts[1], "")
    stack.append((re.sub(r"\+0x[0-9a-f]+$", "", sym), dso))
flush()

per = a.sessions * 50 * a.seconds / a.period_us
total = sum(counts.values())
print(f"{total} samples = {total / per:.1f} µs of CPU per session-frame")
for k, v in counts.most_common(a.top):
    print(f"{v / per:8.1f}  {k}")
