#!/usr/bin/env bash
# scripts/soak.sh [SECONDS]: the example's `user-service` binary under SECONDS (default 600) of
# mixed load on 127.0.0.1, then stopped by SIGTERM while clients are still creating users.
#
# Load, all at once, each from its own h2load (nghttp2) at a fixed request rate:
#   HTTP/1.1 unary GET of a user (200) and of a missing one (404 with a Status), a create that
#   conflicts (409), a bidi NDJSON lookup and a client-stream NDJSON import under a bearer
#   token (409: the users exist, so the store does not grow); gRPC (h2c) unary GetUser, bidi
#   LookupUsers and client-stream ImportUsers; server streams: curl SSE watches and grpcurl
#   watches, each held 2 s, one after another.
# Checks: no transport error (every request h2load started was done, none errored), no 5xx
#   (h2load does not read gRPC trailers: a grpcurl call after the load must succeed); memory sampled every 10 s grows less than 10% from
#   (resident, sampled every 10 s) grows less than 10% from the end of the warm-up (the first
#   fifth) to its highest after; p50/p99 per load printed.
# Shutdown: 4 Python clients create distinct users over HTTP (one keep-alive connection each)
#   and SIGTERM arrives while they run; the service says on exit how many users it holds. Every
#   create a client saw acknowledged (200) must be among them, and at most one per client more
#   (a create done whose answer the closing connection lost).
#
# BIN: the binary (default: $CARGO_TARGET_DIR/release/user-service, built if missing; CI passes
# the debug one). Needs h2load (Debian nghttp2-client), curl, python3; grpcurl (GRPCURL or
# PATH) for the gRPC watches, skipped when missing. RATE: requests per second of each HTTP/1
# and gRPC load (default 200, about 1,600 requests a second in all).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TOTAL=${1:-600}
RATE=${RATE:-200}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TARGET/release/user-service}
if [ ! -x "$BIN" ]; then
  cargo build --release --locked -q -p user-service-example --bin user-service
fi
for tool in h2load curl python3; do
  command -v "$tool" >/dev/null || { echo "soak: $tool not found" >&2; exit 1; }
done
GRPCURL=${GRPCURL:-$(command -v grpcurl || true)}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
secret="the soak test's secret, 32 bytes or more"

start() {
  USER_SERVICE_JWT_SECRET="$secret" RUST_LOG=warn "$BIN" 127.0.0.1:0 127.0.0.1:0 2>"$work/server.log" &
  server=$!
  for _ in $(seq 100); do grep -q 'HTTP on' "$work/server.log" && break; sleep 0.1; done
  grpc=$(sed -n 's/.*gRPC on \(.*\)/\1/p' "$work/server.log")
  http=$(sed -n 's/.*HTTP on \(.*\)/\1/p' "$work/server.log")
  test -n "$grpc" && test -n "$http" || { cat "$work/server.log"; exit 1; }
}
start
echo "soak: user-service (pid $server) gRPC on $grpc, HTTP on $http, $SECONDS_TOTAL s"

# Request bodies, the bearer token and one existing user.
python3 - "$work" "$secret" <<'PY'
import base64, hashlib, hmac, json, os, sys, time
work, secret = sys.argv[1], sys.argv[2].encode()
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
claims = b64(json.dumps({"sub": "soak", "exp": int(time.time()) + 86400}).encode())
signature = b64(hmac.new(secret, f"{head}.{claims}".encode(), hashlib.sha256).digest())
open(os.path.join(work, "token"), "w").write(f"{head}.{claims}.{signature}")
def field(number, payload):  # a length-delimited protobuf field
    return bytes([number << 3 | 2, len(payload)]) + payload
def frame(message): return b"\0" + len(message).to_bytes(4, "big") + message
get = field(1, b"users/soak-1")
create = field(1, b"soak-1") + field(2, field(3, b"soak@example.com"))
files = {
    "create.json": b'{"email": "soak@example.com", "displayName": "Soak"}',
    "lookup.ndjson": b'{"name": "users/soak-1"}\n{"name": "users/nobody"}\n{"name": "users/soak-1"}\n',
    "import.ndjson": b'{"userId": "soak-1", "user": {"email": "soak@example.com"}}\n',
    "get.grpc": frame(get),
    "lookup.grpc": frame(get) * 3,
    "import.grpc": frame(create),
}
for name, body in files.items():
    open(os.path.join(work, name), "wb").write(body)
PY
token=$(cat "$work/token")
curl -sS -o /dev/null --fail-with-body -H 'content-type: application/json' \
  -d @"$work/create.json" "http://$http/v1/users?userId=soak-1"

# name URL [h2load options...]: one load for the whole run, logged per request.
load() {
  local name=$1 url=$2
  shift 2
  h2load -c 4 --rps $((RATE / 4)) -D "$SECONDS_TOTAL" --log-file="$work/$name.log" "$@" "$url" \
    >"$work/$name.out" 2>&1 &
}
grpc_load() {
  local name=$1 method=$2 body=$3
  shift 3
  load "$name" "http://$grpc/user.v1.UserService/$method" -d "$work/$body" \
    -H 'content-type: application/grpc' -H 'te: trailers' "$@"
}
load http-get "http://$http/v1/users/soak-1" --h1
load http-missing "http://$http/v1/users/nobody" --h1
load http-conflict "http://$http/v1/users?userId=soak-1" --h1 -d "$work/create.json" \
  -H 'content-type: application/json'
load http-bidi "http://$http/v1/users:lookup" --h1 -d "$work/lookup.ndjson" \
  -H 'content-type: application/x-ndjson'
load http-client-stream "http://$http/v1/users:import" --h1 -d "$work/import.ndjson" \
  -H 'content-type: application/x-ndjson' -H "authorization: Bearer $token"
grpc_load grpc-unary GetUser get.grpc
grpc_load grpc-bidi LookupUsers lookup.grpc
grpc_load grpc-client-stream ImportUsers import.grpc -H "authorization: Bearer $token"
# Server streams, each held 2 s by the client: curl's --max-time ends it (exit 28).
(
  end=$((SECONDS + SECONDS_TOTAL))
  while [ $SECONDS -lt $end ]; do
    curl -sS -N --max-time 2 -H 'accept: text/event-stream' "http://$http/v1/users:watch" \
      >/dev/null 2>>"$work/sse.err" && echo ended >>"$work/sse.err"
    echo watched >>"$work/sse.count"
  done
) &
if [ -n "$GRPCURL" ]; then
  (
    end=$((SECONDS + SECONDS_TOTAL))
    while [ $SECONDS -lt $end ]; do
      "$GRPCURL" -plaintext -max-time 2 -d '{}' "$grpc" user.v1.UserService/WatchUsers \
        >/dev/null 2>>"$work/grpc-watch.err" || true
      echo watched >>"$work/grpc-watch.count"
    done
  ) &
fi

# Resident memory every 10 s.
: >"$work/rss"
for _ in $(seq 1 $((SECONDS_TOTAL / 10))); do
  sleep 10
  awk '/VmRSS/ {print $2}' "/proc/$server/status" >>"$work/rss"
done
wait $(jobs -p | grep -v "^$server$") 2>/dev/null || true

python3 - "$work" "$SECONDS_TOTAL" <<'PY'
import glob, os, re, statistics, sys
work, total = sys.argv[1], int(sys.argv[2])
failed = []
print("| load | requests | statuses | p50 ms | p99 ms |")
print("| --- | ---: | --- | ---: | ---: |")
for log in sorted(glob.glob(os.path.join(work, "*.log"))):
    name = os.path.basename(log)[:-4]
    if name == "server":
        continue
    rows = [line.split("\t") for line in open(log) if line.strip()]
    times = sorted(int(r[2]) for r in rows)
    statuses = {}
    for r in rows:
        statuses[r[1]] = statuses.get(r[1], 0) + 1
    pct = lambda p: times[min(len(times) - 1, int(p * len(times)))] / 1000 if times else float("nan")
    print("| %s | %d | %s | %.2f | %.2f |" % (name, len(rows), " ".join(
        "%s: %d" % kv for kv in sorted(statuses.items())), pct(0.5), pct(0.99)))
    out = open(os.path.join(work, name + ".out")).read()
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
    if not m:
        failed.append("%s: no h2load summary: %s" % (name, out[-500:]))
        continue
    total_, started, done, ok, bad, errored, timeout = map(int, m.groups())
    # Requests still open when the duration ends are not transport errors.
    if errored or timeout or done + 4 * 2 < started:
        failed.append("%s: %d started, %d done, %d errored, %d timeout" % (name, started, done, errored, timeout))
    if any(s.startswith("5") for s in statuses):
        failed.append("%s: 5xx answers %s" % (name, statuses))
    if not rows:
        failed.append("%s: no requests" % name)
for kind in ("sse", "grpc-watch"):
    count = os.path.join(work, kind + ".count")
    if os.path.exists(count):
        errors = open(os.path.join(work, kind + ".err")).read()
        n = sum(1 for _ in open(count))
        # curl's and grpcurl's own deadline ends each watch; anything else is a failure.
        if kind == "sse":
            unexpected = [l for l in errors.splitlines() if l.strip() and "Operation timed out" not in l]
        else:
            unexpected = [l for l in errors.splitlines()
                          if l.strip().startswith("Code:") and "DeadlineExceeded" not in l]
        print("%s watches: %d held 2 s%s" % (kind, n, "" if not unexpected else ", errors: %s" % unexpected[:3]))
        if unexpected or n < total // 4:
            failed.append("%s: %d watches, %s" % (kind, n, unexpected[:3]))
rss = [int(x) for x in open(os.path.join(work, "rss")) if x.strip()]
if len(rss) >= 2:
    warm = max(1, len(rss) // 5)
    base, peak = rss[warm - 1], max(rss[warm - 1:])
    growth = (peak - base) / base * 100
    print("RSS KiB every 10 s: %s" % " ".join(map(str, rss)))
    print("RSS after warm-up %d KiB, highest after %d KiB: %+.1f%%" % (base, peak, growth))
    if growth >= 10:
        failed.append("RSS grew %.1f%%" % growth)
if failed:
    print("soak FAILED:\n  " + "\n  ".join(failed))
    sys.exit(1)
PY

if [ -n "$GRPCURL" ]; then
  "$GRPCURL" -plaintext -d '{"name": "users/soak-1"}' "$grpc" user.v1.UserService/GetUser \
    | grep -q '"email": "soak@example.com"'
fi

# Shutdown under load: clients create distinct users; SIGTERM arrives mid-way.
python3 - "$http" "$server" <<'PY' >"$work/acknowledged"
import http.client, os, signal, sys, threading, time
host, port = sys.argv[1].rsplit(":", 1)
server = int(sys.argv[2])
acknowledged = []
lock = threading.Lock()
def client(n):
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    i = 0
    while True:
        i += 1
        try:
            conn.request("POST", "/v1/users?userId=ack-%d-%d" % (n, i),
                         body=b'{"email": "a@example.com"}',
                         headers={"content-type": "application/json"})
            response = conn.getresponse()
            response.read()
        except Exception:
            return  # the server is going or gone
        if response.status == 200:
            with lock:
                acknowledged.append(i)
        elif response.status != 503:
            print("unexpected status %d" % response.status, file=sys.stderr)
            return
threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
for t in threads:
    t.start()
time.sleep(2)
os.kill(server, signal.SIGTERM)
for t in threads:
    t.join()
print(len(acknowledged))
PY
wait "$server" || true
acknowledged=$(cat "$work/acknowledged")
held=$(sed -n 's/.*stopped with \([0-9]*\) users.*/\1/p' "$work/server.log")
# soak-1 is one of the users the service holds.
created=$((held - 1))
echo "shutdown under load: $acknowledged creates acknowledged, $created recorded"
if [ -z "$held" ] || [ "$created" -lt "$acknowledged" ] || [ "$created" -gt $((acknowledged + 4)) ]; then
  echo "soak FAILED: acknowledged $acknowledged, recorded ${created:-?}"
  tail -5 "$work/server.log"
  exit 1
fi
echo "soak passed"
