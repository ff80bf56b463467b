#!/usr/bin/env bash
# Open loop: latency at a fixed rate (RATE req/s, default 2,000; oha -q, which corrects for
# coordinated omission), 32 connections, 10 s after a 2 s warm-up, GET and POST, the generated router against the
# hand-written axum handler; server pinned to CPU 0 and oha to CPU 1 (PIN=1, the default) or
# both unpinned (PIN=0); ROUNDS rounds (default 5), the order reversed every other round. Prints
# one line per run, then per workload the median p50 and p99 of each target and the median of
# the per-round p99 ratios (rs-svc / axum, below 1 means rs-svc's tail is shorter), with their
# range: a single run's tail moves by 2-3x between identical runs. So it also pools every
# request of every round per target (20,000 a round) and prints the pooled p50 and p99 and
# their ratio, and how many rounds had rs-svc's p99 above the hand-written one's.
# METHODS="post" runs one workload only.
# Needs oha: `cargo install --locked oha@1.16.0` (about 10 minutes on 2 cores); OHA=path.
set -eu
cd "$(dirname "$0")/../.."
OHA=${OHA:-oha}
command -v "$OHA" >/dev/null || { echo "oha not found: cargo install --locked oha@1.16.0" >&2; exit 1; }
cargo build --release --locked -q -p rs-svc-http-bench --bin http-bench-server
B=${CARGO_TARGET_DIR:-target}/release/http-bench-server
fx=$(mktemp -d); $B fixtures "$fx" >/dev/null
results=$fx/results.txt
get=$(cat "$fx/get.path"); post=$(cat "$fx/post.path")
run() { # mode method
  local pin_s="" pin_c=""
  if [ "${PIN:-1}" = 1 ]; then pin_s="taskset -c 0"; pin_c="taskset -c 1"; fi
  $pin_s $B serve $1 127.0.0.1:0 127.0.0.1:18080 2>/tmp/srv.log & local srv=$!
  sleep 0.5
  local url="http://127.0.0.1:18080"
  if [ $2 = get ]; then
    $pin_c $OHA --no-tui -q "${RATE:-2000}" -z 2s -c 32 "$url$get" >/dev/null
    $pin_c $OHA --no-tui -q "${RATE:-2000}" -z 10s -c 32 --output-format csv "$url$get" > "$fx/run.csv"
  else
    $pin_c $OHA --no-tui -q "${RATE:-2000}" -z 2s -c 32 -m POST -T application/json -D "$fx/post.json" "$url$post" >/dev/null
    $pin_c $OHA --no-tui -q "${RATE:-2000}" -z 10s -c 32 -m POST -T application/json -D "$fx/post.json" --output-format csv "$url$post" > "$fx/run.csv"
  fi
  kill $srv; wait $srv 2>/dev/null || true
  # One line per run; every request's duration (seconds) kept for the pooled figures.
  python3 - "$fx/run.csv" "$fx/$1.$2.durations" "$2 $1" <<'PY' | tee -a "$results"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ok = sorted(float(r["request-duration"]) for r in rows if r["status"] == "200")
with open(sys.argv[2], "a") as out:
    out.writelines("%s\n" % d for d in ok)
pct = lambda p: ok[min(len(ok) - 1, int(p * len(ok)))] * 1000
codes = {}
for r in rows:
    codes[r["status"]] = codes.get(r["status"], 0) + 1
print("%s rps=%.0f p50=%.3fms p99=%.3fms codes=%s" % (
    sys.argv[3], len(rows) / 10, pct(0.50), pct(0.99), codes))
PY
}
for round in $(seq 1 "${ROUNDS:-5}"); do
  for m in ${METHODS:-get post}; do
    if [ $((round % 2)) = 1 ]; then order="rs-svc axum"; else order="axum rs-svc"; fi
    for mode in $order; do run $mode $m; done
  done
done
python3 - "$results" "$fx" <<'EOF'
import os, re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\w+) (\S+) rps=\S+ p50=([\d.]+)ms p99=([\d.]+)ms", line)
    if m:
        runs.setdefault((m[1], m[2]), []).append((float(m[3]), float(m[4])))
def pooled(target, method):
    path = os.path.join(sys.argv[2], "%s.%s.durations" % (target, method))
    if not os.path.exists(path):
        return None
    xs = sorted(float(x) for x in open(path))
    return [xs[min(len(xs) - 1, int(p * len(xs)))] * 1000 for p in (0.5, 0.99)]
print("| workload | rs-svc p50 / p99 ms | axum p50 / p99 ms | p99 rs-svc / axum, median (range) | rounds above 1 | pooled p50 / p99 ms, rs-svc; axum | pooled p99 ratio |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for method in ("get", "post"):
    ours, theirs = runs.get((method, "rs-svc"), []), runs.get((method, "axum"), [])
    if not ours or not theirs:
        continue
    med = lambda xs, i: statistics.median(x[i] for x in xs)
    ratios = [o[1] / t[1] for o, t in zip(ours, theirs)]
    po, pt = pooled("rs-svc", method), pooled("axum", method)
    print("| %s | %.2f / %.2f | %.2f / %.2f | %.2f (%.2f-%.2f) | %d of %d | %.3f / %.3f; %.3f / %.3f | %.2f |" % (
        method.upper(), med(ours, 0), med(ours, 1), med(theirs, 0), med(theirs, 1),
        statistics.median(ratios), min(ratios), max(ratios),
        sum(r > 1 for r in ratios), len(ratios), po[0], po[1], pt[0], pt[1], po[1] / pt[1]))
EOF
