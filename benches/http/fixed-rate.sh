#!/usr/bin/env bash
# Open loop: latency at a fixed rate (RATE req/s, default 2,000; oha -q, which corrects for
# coordinated omission), 32 connections, 10 s after a 2 s warm-up, GET and POST, the generated router against the
# hand-written axum handler; server pinned to CPU 0 and oha to CPU 1 (PIN=1, the default) or
# both unpinned (PIN=0); ROUNDS rounds (default 5), the order reversed every other round. Prints
# one line per run, then per workload the median p50 and p99 of each target and the median of
# the per-round p99 ratios (rs-svc / axum, below 1 means rs-svc's tail is shorter), with their
# range: a single run's tail moves by 2-3x between identical runs. So it also pools every
# request of every round per target (20,000 a round) and prints the pooled p50 and p99 and
# their ratio, how many rounds had rs-svc's p99 above the hand-written one's (with the two-sided
# sign-test p-value: how likely so lopsided a count is if neither tail is the longer), and a 95%
# interval for the pooled p99 ratio, from 2,000 resamplings of whole rounds (both targets' runs
# of a round kept together). The interval answers "is rs-svc's tail longer": yes if its low end
# is above 1; if it holds 1, this many rounds cannot tell the two apart.
# METHODS="post" runs one workload only. TOGETHER=1 serves both targets at once, each on its own
# port at RATE (pinned: both servers on CPU 0, both oha on CPU 1) and loads them side by side,
# so whatever else disturbs the machine during a round disturbs both alike.
# CONTROL=1 serves the hand-written handler under both names: an A/A run whose ratios show the
# method's own noise (figures in README, "HTTP/JSON transcoding").
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
pin_s="" pin_c=""
if [ "${PIN:-1}" = 1 ]; then pin_s="taskset -c 0"; pin_c="taskset -c 1"; fi
load() { # port method csv: a 2 s warm-up, then the measured 10 s
  local url="http://127.0.0.1:$1" args=()
  if [ "$2" = get ]; then url=$url$get; else url=$url$post; args=(-m POST -T application/json -D "$fx/post.json"); fi
  $pin_c "$OHA" --no-tui -q "${RATE:-2000}" -z 2s -c 32 "${args[@]}" "$url" >/dev/null
  $pin_c "$OHA" --no-tui -q "${RATE:-2000}" -z 10s -c 32 "${args[@]}" --output-format csv "$url" > "$3"
}
run() { # method mode...: serves each mode on its own port and loads them all at once
  local method=$1 port=18080 servers=() loads=() mode serve
  shift
  for mode in "$@"; do
    if [ "${CONTROL:-0}" = 1 ]; then serve=axum; else serve=$mode; fi
    $pin_s "$B" serve "$serve" 127.0.0.1:0 127.0.0.1:$port 2>>"$fx/servers.log" & servers+=($!)
    port=$((port + 1))
  done
  sleep 0.5
  port=18080
  for mode in "$@"; do
    load $port "$method" "$fx/$mode.csv" & loads+=($!)
    port=$((port + 1))
  done
  wait "${loads[@]}"
  kill "${servers[@]}"; wait "${servers[@]}" 2>/dev/null || true
  # One line per run; every request's duration (seconds) kept for the pooled figures.
  for mode in "$@"; do
    python3 - "$fx/$mode.csv" "$fx/$mode.$method.$round.durations" "$method $mode" <<'PY' | tee -a "$results"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ok = sorted(float(r["request-duration"]) for r in rows if r["status"] == "200")
with open(sys.argv[2], "w") as out:
    out.writelines("%s\n" % d for d in ok)
pct = lambda p: ok[min(len(ok) - 1, int(p * len(ok)))] * 1000
codes = {}
for r in rows:
    codes[r["status"]] = codes.get(r["status"], 0) + 1
print("%s rps=%.0f p50=%.3fms p99=%.3fms codes=%s" % (
    sys.argv[3], len(rows) / 10, pct(0.50), pct(0.99), codes))
PY
  done
}
for round in $(seq 1 "${ROUNDS:-5}"); do # `run` names its durations files by $round
  for m in ${METHODS:-get post}; do
    if [ $((round % 2)) = 1 ]; then order="rs-svc axum"; else order="axum rs-svc"; fi
    if [ "${TOGETHER:-0}" = 1 ]; then
      run $m $order
    else
      for mode in $order; do run $m $mode; done
    fi
  done
done
python3 - "$results" "$fx" "${ROUNDS:-5}" <<'EOF'
import bisect, math, os, random, re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\w+) (\S+) rps=\S+ p50=([\d.]+)ms p99=([\d.]+)ms", line)
    if m:
        runs.setdefault((m[1], m[2]), []).append((float(m[3]), float(m[4])))
rounds = range(1, int(sys.argv[3]) + 1)
def durations(target, method, round):
    path = os.path.join(sys.argv[2], "%s.%s.%d.durations" % (target, method, round))
    return [float(x) for x in open(path)] if os.path.exists(path) else []
def pct(xs, p):
    return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000
# Each round's durations as counts over buckets 0.5% wide (10 us to about 10 s): a resampling
# adds up counts instead of sorting millions of durations.
EDGES = [1e-5 * 1.005 ** i for i in range(2800)]
def histogram(xs):
    counts = [0] * (len(EDGES) + 1)
    for x in xs:
        counts[bisect.bisect_left(EDGES, x)] += 1
    return counts
def hist_p99(hists):
    total = [sum(c) for c in zip(*hists)]
    want, seen = 0.99 * sum(total), 0
    for i, c in enumerate(total):
        seen += c
        if seen > want:
            return EDGES[min(i, len(EDGES) - 1)]
def sign_test(above, n):
    # Two-sided binomial p-value for `above` of `n` rounds when either is as likely.
    k = max(above, n - above)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k, n + 1)) / 2 ** n)
print("| workload | rs-svc p50 / p99 ms | axum p50 / p99 ms | p99 rs-svc / axum, median (range) | rounds above 1 (sign test p) | pooled p50 / p99 ms, rs-svc; axum | pooled p99 ratio (95% interval) |")
print("| --- | --- | --- | --- | --- | --- | --- |")
random.seed(1)
for method in ("get", "post"):
    ours, theirs = runs.get((method, "rs-svc"), []), runs.get((method, "axum"), [])
    if not ours or not theirs:
        continue
    med = lambda xs, i: statistics.median(x[i] for x in xs)
    ratios = [o[1] / t[1] for o, t in zip(ours, theirs)]
    above = sum(r > 1 for r in ratios)
    per_round = [(durations("rs-svc", method, r), durations("axum", method, r)) for r in rounds]
    po = sorted(d for o, _ in per_round for d in o)
    pt = sorted(d for _, t in per_round for d in t)
    hists = [(histogram(o), histogram(t)) for o, t in per_round]
    resampled = []
    for _ in range(2000):
        pick = [random.choice(hists) for _ in hists]
        resampled.append(hist_p99([o for o, _ in pick]) / hist_p99([t for _, t in pick]))
    resampled.sort()
    print("| %s | %.2f / %.2f | %.2f / %.2f | %.2f (%.2f-%.2f) | %d of %d (%.2f) | %.3f / %.3f; %.3f / %.3f | %.2f (%.2f-%.2f) |" % (
        method.upper(), med(ours, 0), med(ours, 1), med(theirs, 0), med(theirs, 1),
        statistics.median(ratios), min(ratios), max(ratios), above, len(ratios),
        sign_test(above, len(ratios)), pct(po, 0.5), pct(po, 0.99), pct(pt, 0.5), pct(pt, 0.99),
        pct(po, 0.99) / pct(pt, 0.99), resampled[49], resampled[1949]))
EOF
