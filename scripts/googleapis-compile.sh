#!/usr/bin/env bash
# Compiles googleapis: generates the Rust of a sample of APIs of npm google-proto-files 6.0.1
# *with everything they import* in one plugin request through protoc, as one crate (in a
# temporary directory outside the workspace, with a path dependency on runtime/ and the
# workspace's Cargo.lock), every output on (messages, JSON, tonic servers and clients, HTTP
# routers and clients, dial helpers, OpenAPI, the embedded descriptor set, routes for unbound
# methods), and runs `cargo clippy --all-targets -- -D warnings` on it. Prints the figures:
# APIs, .proto files (the APIs' own and with their imports), rpc methods, generated Rust bytes
# and lines, OpenAPI documents, seconds for generation and clippy. Exits non-zero on any
# failure or warning.
#
#   scripts/googleapis-compile.sh            the sample (38 APIs; README, Guarantees)
#   scripts/googleapis-compile.sh --slice    the few APIs CI compiles (see .ci/run)
#   scripts/googleapis-compile.sh pubsub/v1 kms/v1 ...   these API directories (as googleapis.sh)
#
# Imports are generated too, as a user would have to: google/longrunning, google/iam/v1,
# google/type, google/cloud/location, google/api's message types and so on; google.protobuf
# comes from prost-types and rs_svc::wkt as always, and google.api.HttpBody, google.rpc.Status
# and the google.rpc error details are mapped to the runtime's types with `extern_path`
# (README, Output), so google/api/httpbody.proto, google/rpc/status.proto and
# google/rpc/error_details.proto are not generated.
#
# Options:
#   --corpus DIR / --plugin PATH / --protoc PATH   as scripts/googleapis.sh
#   --build           also `cargo build` the crate (clippy does not generate code)
#   --validate-openapi   also validate the sample's OpenAPI documents (as googleapis.sh)
#   --keep DIR        build the crate in DIR (kept) instead of a temporary directory
#
# The crate shares $CARGO_TARGET_DIR (default: the workspace's target/) so the runtime and its
# dependencies are built once.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/googleapis-common.sh
root=$PWD

# At least 30 APIs, among them the largest (compute, aiplatform), each kind of streaming
# (pubsub, storage, speech, bigtable), HttpBody (aiplatform),
# and rules beyond http.proto's grammar (kms/inventory).
SAMPLE=(
  pubsub/v1
  storage/v2
  compute/v1
  spanner/v1
  spanner/admin/database/v1
  spanner/admin/instance/v1
  bigquery/v2
  bigquery/analyticshub/v1
  bigquery/datatransfer/v1
  bigquery/reservation/v1
  bigquery/connection/v1
  aiplatform/v1
  kms/v1
  kms/inventory/v1
  secretmanager/v1
  tasks/v2
  scheduler/v1
  functions/v2
  run/v2
  redis/v1
  memcache/v1
  sql/v1
  language/v2
  translate/v3
  speech/v2
  texttospeech/v1
  vision/v1
  dataproc/v1
  workflows/v1
  resourcemanager/v3
  asset/v1
  iap/v1
  filestore/v1
  datacatalog/v1
  logging/v2
  monitoring/v3
  eventarc/v1
  bigtable/v2
)

# What CI compiles: a few APIs that import the shared packages (iam, longrunning, location,
# type), with a streaming API among them, small enough for a few minutes on 2 cores.
SLICE=(
  pubsub/v1
  storage/v2
  kms/v1
)

# The runtime's types, mapped as README's Output section tells users.
RUNTIME_TYPES=(
  .google.api.HttpBody=::rs_svc::google::api::HttpBody
  .google.rpc.Status=::rs_svc::google::rpc::Status
  .google.rpc.ErrorInfo=::rs_svc::google::rpc::ErrorInfo
  .google.rpc.RetryInfo=::rs_svc::google::rpc::RetryInfo
  .google.rpc.DebugInfo=::rs_svc::google::rpc::DebugInfo
  .google.rpc.QuotaFailure=::rs_svc::google::rpc::QuotaFailure
  .google.rpc.PreconditionFailure=::rs_svc::google::rpc::PreconditionFailure
  .google.rpc.BadRequest=::rs_svc::google::rpc::BadRequest
  .google.rpc.RequestInfo=::rs_svc::google::rpc::RequestInfo
  .google.rpc.ResourceInfo=::rs_svc::google::rpc::ResourceInfo
  .google.rpc.Help=::rs_svc::google::rpc::Help
  .google.rpc.LocalizedMessage=::rs_svc::google::rpc::LocalizedMessage
)
RUNTIME_FILES='^google/(protobuf/.*|api/httpbody|rpc/status|rpc/error_details)\.proto$'

corpus="" plugin="" protoc="" keep="" build=0 validate=0 dirs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --corpus) corpus="$2"; shift ;;
    --plugin) plugin="$2"; shift ;;
    --protoc) protoc="$2"; shift ;;
    --keep) keep="$2"; shift ;;
    --build) build=1 ;;
    --validate-openapi) validate=1 ;;
    --slice) dirs=("${SLICE[@]}") ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    *) dirs+=("${1#google/}") ;;
  esac
  shift
done
[ "${#dirs[@]}" -gt 0 ] || dirs=("${SAMPLE[@]}")

corpus=$(ga_corpus "$corpus")
plugin=$(ga_plugin "$plugin")
protoc=$(ga_protoc "$protoc")
if [ -z "$protoc" ] || [ ! -x "$protoc" ]; then
  echo "no protoc: pass --protoc PATH or set RS_SVC_PROTOC" >&2
  exit 2
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

if [ -n "$keep" ]; then
  mkdir -p "$keep" && crate=$(cd "$keep" && pwd)
else
  crate=$(mktemp -d)
  trap 'rm -rf "$crate"' EXIT
fi

# The APIs' own files, then everything they import but what the runtime and prost-types hold.
own=()
for dir in "${dirs[@]}"; do
  path=$(ga_api_path "$corpus" "$dir")
  mapfile -t -O "${#own[@]}" own < <(cd "$corpus" && ls "$path"/*.proto)
done
mapfile -t files < <(ga_import_closure "$corpus" "${own[@]}" | grep -Ev "$RUNTIME_FILES")
methods=$(cd "$corpus" && cat "${own[@]}" | grep -cE '^\s*rpc\s' || true)
all_methods=$(cd "$corpus" && cat "${files[@]}" | grep -cE '^\s*rpc\s' || true)

params=file_descriptor_set,generate_unbound_methods,include_file=lib.rs
for mapping in "${RUNTIME_TYPES[@]}"; do params+=",extern_path=$mapping"; done

rm -rf "$crate/src" "$crate/openapi"
mkdir -p "$crate/src"
echo "== generate: ${#dirs[@]} APIs, ${#own[@]} .proto files, ${#files[@]} with their imports, into $crate"
start=$(date +%s%N)
(cd "$corpus" && "$protoc" -I "$corpus" --plugin=protoc-gen-rs-svc="$plugin" \
  --rs-svc_out="$crate/src" --rs-svc_opt="$params" "${files[@]}") 2>"$crate/generate.log" || {
  grep -v ': warning: Import ' "$crate/generate.log" | head -40
  echo "FAIL: generation"
  exit 1
}
gen_seconds=$(awk -v ns=$(($(date +%s%N) - start)) 'BEGIN { printf "%.1f", ns / 1e9 }')
warnings=$(grep -c 'protoc-gen-rs-svc: warning:' "$crate/generate.log" || true)
grep 'protoc-gen-rs-svc: warning:' "$crate/generate.log" | sed 's/^/  /' || true
# The OpenAPI documents go beside the crate, not in src/.
mkdir -p "$crate/openapi"
(cd "$crate/src" && find . \( -name '*.openapi.yaml' -o -name '*.openapi.json' \) -print0 |
  xargs -0 -r -I{} sh -c 'mkdir -p "$(dirname "../openapi/{}")" && mv "{}" "../openapi/{}"')
documents=$(find "$crate/openapi" -type f | wc -l)
rust_bytes=$(find "$crate/src" -name '*.rs' -print0 | du -cb --files0-from=- | tail -1 | cut -f1)
rust_lines=$(find "$crate/src" -name '*.rs' -print0 | xargs -0 cat | wc -l)

cat >"$crate/Cargo.toml" <<EOF
[package]
name = "googleapis-compile"
version = "0.0.0"
edition = "2021"
publish = false

# Not a member of any workspace above it.
[workspace]

# No tests or benches of its own: their lib target (checked in test mode by --all-targets)
# would only check the same code a second time
# (twice the memory and time; the sample alone takes about 10 GB).
[lib]
test = false
doctest = false
bench = false

[dependencies]
prost = "0.14"
prost-types = "0.14"
rs-svc = { path = "$root/runtime" }
serde = "1"
tonic = "0.14"
tonic-prost = "0.14"
EOF
cp Cargo.lock "$crate/Cargo.lock"

echo "== cargo clippy --all-targets -- -D warnings ($rust_bytes bytes of Rust)"
start=$(date +%s%N)
status=0
(cd "$crate" && cargo clippy --quiet --all-targets -- -D warnings) || status=1
clippy_seconds=$(awk -v ns=$(($(date +%s%N) - start)) 'BEGIN { printf "%.1f", ns / 1e9 }')
build_seconds=-
if [ "$build" = 1 ] && [ "$status" = 0 ]; then
  echo "== cargo build"
  start=$(date +%s%N)
  # Any warning of a full build fails it too (clippy runs rustc's lints, but generates no
  # code); RUSTFLAGS stay as they are, so the dependencies already built are reused.
  (cd "$crate" && cargo build --quiet 2>&1) | tee "$crate/build.log" || status=1
  ! grep -q '^warning' "$crate/build.log" || status=1
  build_seconds=$(awk -v ns=$(($(date +%s%N) - start)) 'BEGIN { printf "%.1f", ns / 1e9 }')
fi
openapi_status=0
if [ "$validate" = 1 ]; then
  ga_validate_openapi "$crate/openapi" || openapi_status=1
fi
echo "summary: apis=${#dirs[@]} files=${#own[@]} files_with_imports=${#files[@]}" \
  "methods=$methods methods_with_imports=$all_methods plugin_warnings=$warnings" \
  "rust_bytes=$rust_bytes rust_lines=$rust_lines openapi_documents=$documents" \
  "generate_seconds=$gen_seconds clippy_seconds=$clippy_seconds build_seconds=$build_seconds" \
  "result=$([ "$status" = 0 ] && echo ok || echo FAIL)"
[ "$status" = 0 ] && [ "$openapi_status" = 0 ]
