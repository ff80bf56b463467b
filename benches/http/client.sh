#!/usr/bin/env bash
# The HTTP/JSON client side by side: unary GetItem round trips against the bench server's
# generated router, through rs_svc::http::HttpChannel (as the generated HTTP clients call it) and
# through a hand-written reqwest + serde call of the same URL. Server pinned to CPU 0 and the
# client to CPU 1 (PIN=1, the default), or both unpinned (PIN=0); ROUNDS rounds (default 5) of
# DURATION seconds (default 10) per client, CONCURRENCY calls in flight (default 32), the order
# reversed every other round; a fresh server per measurement. Prints each run, then the median
# (range) of the per-round ratios channel / reqwest.
set -eu
cd "$(dirname "$0")/../.."
cargo build --release --locked -q -p rs-svc-http-bench --bin http-bench-server --bin http-client-bench
B=${CARGO_TARGET_DIR:-target}/release
pin_s=() pin_c=()
if [ "${PIN:-1}" = 1 ]; then pin_s=(taskset -c 0) pin_c=(taskset -c 1); fi
results=$(mktemp)
run() { # mode round
  "${pin_s[@]}" "$B/http-bench-server" serve rs-svc 127.0.0.1:0 127.0.0.1:18083 2>/dev/null &
  local srv=$!
  for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18083/ && break; sleep 0.1; done
  "${pin_c[@]}" "$B/http-client-bench" "$1" http://127.0.0.1:18083 2 "${CONCURRENCY:-32}" >/dev/null
  local line
  line=$("${pin_c[@]}" "$B/http-client-bench" "$1" http://127.0.0.1:18083 "${DURATION:-10}" "${CONCURRENCY:-32}")
  kill $srv; wait $srv 2>/dev/null || true
  echo "round $2 $line" | tee -a "$results"
}
for round in $(seq "${ROUNDS:-5}"); do
  if [ $((round % 2)) = 1 ]; then run channel "$round"; run reqwest "$round"
  else run reqwest "$round"; run channel "$round"; fi
done
python3 - "$results" <<'PY'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
by = {}
for _, rnd, mode, rate in rows:
    by.setdefault(mode, {})[rnd] = float(rate)
ratios = [by["channel"][r] / by["reqwest"][r] for r in by["channel"]]
print(f"calls/s: HttpChannel {st.median(by['channel'].values()):,.0f}, "
      f"reqwest {st.median(by['reqwest'].values()):,.0f}; "
      f"ratio {st.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")
PY
