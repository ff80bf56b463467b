#!/usr/bin/env bash
# Generates googleapis API by API: one plugin run per API directory under google/cloud of npm
# google-proto-files 6.0.1 (a directory holding at least one .proto with a `service`), every
# .proto of the directory in one request, through real protoc and then in standalone mode
# (`protoc-gen-rs-svc generate`). Prints one line per directory and mode (the plugin's error on
# failure, its warnings on success) and a summary line per mode: directories, succeeded, failed,
# and the .proto files, rpc methods and warnings of the directories that succeeded, and the
# seconds taken. Exits non-zero when any directory fails in any mode.
#
#   scripts/googleapis.sh                 the representative slice (CI runs it; see .ci/run)
#   scripts/googleapis.sh --all           every API directory (326)
#   scripts/googleapis.sh kms/inventory/v1 pubsub/v1 ...   these directories: under google/cloud,
#                                         else under google/ (pubsub, storage, spanner live there)
#
# Options:
#   --corpus DIR    the google-proto-files tree (default: $RS_SVC_GOOGLE_PROTO_FILES)
#   --plugin PATH   the plugin binary (default: built with `cargo build --release`)
#   --protoc PATH   protoc (default: $RS_SVC_PROTOC, else the protoc 36.2 of the
#                   protoc-bin-vendored crate in the cargo registry, else protoc36 on PATH)
#   --opt K=V       a plugin parameter, for both modes (repeatable)
#   --no-standalone / --no-protoc   skip one mode
#   --keep DIR      write the generated files under DIR/<mode>/<api dir> (default: discarded)
#   --validate-openapi   then run openapi-spec-validator and `redocly lint` on every OpenAPI
#                   document the first mode wrote (standalone's are byte-identical); prints the
#                   documents, errors and redocly's warnings by rule, and fails on any error
#                   (tools from $RS_SVC_OPENAPI_SPEC_VALIDATOR / $RS_SVC_REDOCLY, else PATH)
#
# Install the corpus with:
#   npm install --prefix DIR google-proto-files@6.0.1 --engine-strict=false
# (then --corpus DIR/node_modules/google-proto-files).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/googleapis-common.sh

# The slice CI runs: the APIs the issue names, large and varied (aiplatform and compute are the
# largest; bigquery/storage and kms/inventory carry the rules googleapis ships beyond
# http.proto's grammar).
SLICE=(
  aiplatform/v1
  discoveryengine/v1
  pubsub/v1
  storage/v2
  compute/v1
  bigquery/storage/v1
  bigquery/storage/v1beta1
  kms/inventory/v1
  managedkafka/schemaregistry/v1
  kms/v1
  spanner/admin/database/v1
)

corpus="${RS_SVC_GOOGLE_PROTO_FILES:-}"
plugin=""
protoc="${RS_SVC_PROTOC:-}"
all=0
modes=(protoc standalone)
opts=()
keep=""
validate=0
dirs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --all) all=1 ;;
    --corpus) corpus="$2"; shift ;;
    --plugin) plugin="$2"; shift ;;
    --protoc) protoc="$2"; shift ;;
    --opt) opts+=("$2"); shift ;;
    --keep) keep="$2"; shift ;;
    --validate-openapi) validate=1 ;;
    --no-standalone) modes=("${modes[@]/standalone}") ;;
    --no-protoc) modes=("${modes[@]/protoc}") ;;
    -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    *) dirs+=("${1#google/}") ;;
  esac
  shift
done

corpus=$(ga_corpus "$corpus")
plugin=$(ga_plugin "$plugin")
protoc=$(ga_protoc "$protoc")
if [[ " ${modes[*]} " == *" protoc "* ]] && { [ -z "$protoc" ] || [ ! -x "$protoc" ]; }; then
  echo "no protoc: pass --protoc PATH or set RS_SVC_PROTOC" >&2
  exit 2
fi

if [ "$all" = 1 ]; then
  mapfile -t dirs < <(ga_all_dirs "$corpus")
elif [ "${#dirs[@]}" = 0 ]; then
  dirs=("${SLICE[@]}")
fi

param=$(IFS=,; echo "${opts[*]:-}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ "$validate" = 0 ] || [ -n "$keep" ] || keep="$work/keep"
status=0

for mode in "${modes[@]}"; do
  [ -n "$mode" ] || continue
  echo "== $mode (${#dirs[@]} directories)"
  n=0 ok=0 failed=0 files=0 methods=0 warnings=0
  start=$(date +%s%N)
  for dir in "${dirs[@]}"; do
    n=$((n + 1))
    path=$(ga_api_path "$corpus" "$dir")
    mapfile -t protos < <(cd "$corpus" && ls "$path"/*.proto 2>/dev/null)
    if [ "${#protos[@]}" = 0 ]; then
      echo "FAIL $path: no .proto files"
      failed=$((failed + 1))
      continue
    fi
    out="$work/out"
    [ -z "$keep" ] || out="$keep/$mode/$path"
    rm -rf "$out" && mkdir -p "$out"
    if [ "$mode" = protoc ]; then
      run=("$protoc" -I "$corpus" --plugin=protoc-gen-rs-svc="$plugin"
           --rs-svc_out="$out" ${param:+--rs-svc_opt="$param"} "${protos[@]}")
    else
      run=("$plugin" generate -I "$corpus" -o "$out" ${param:+--opt "$param"} "${protos[@]}")
    fi
    if (cd "$corpus" && "${run[@]}") >/dev/null 2>"$work/stderr"; then
      ok=$((ok + 1))
      f=${#protos[@]}
      m=$(cd "$corpus" && cat "${protos[@]}" | grep -cE '^\s*rpc\s' || true)
      w=$(grep -c 'protoc-gen-rs-svc: warning:' "$work/stderr" || true)
      files=$((files + f)) methods=$((methods + m)) warnings=$((warnings + w))
      echo "ok   $path: files=$f methods=$m warnings=$w"
      grep 'protoc-gen-rs-svc: warning:' "$work/stderr" | sed 's/^/       /' || true
    else
      failed=$((failed + 1))
      echo "FAIL $path:"
      # The plugin's lines, without protoc's own warnings (unused imports); all if none.
      grep -E '^(--rs-svc_out: |protoc-gen-rs-svc: |google/)' "$work/stderr" |
        grep -v ': warning: Import ' >"$work/errors" || cp "$work/stderr" "$work/errors"
      sed 's/^/       /' "$work/errors" | head -20
    fi
  done
  seconds=$(awk -v ns=$(($(date +%s%N) - start)) 'BEGIN { printf "%.1f", ns / 1e9 }')
  echo "summary $mode: directories=$n succeeded=$ok failed=$failed files=$files methods=$methods warnings=$warnings seconds=$seconds"
  [ "$failed" = 0 ] || status=1
done
if [ "$validate" = 1 ]; then
  for mode in "${modes[@]}"; do
    [ -n "$mode" ] || continue
    ga_validate_openapi "$keep/$mode" || status=1
    break
  done
fi
exit "$status"
