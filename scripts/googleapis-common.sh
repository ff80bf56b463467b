# Shared by scripts/googleapis.sh and scripts/googleapis-compile.sh (sourced, not run): finding
# the corpus, the plugin and protoc, API directories and their imports, and validating OpenAPI
# documents. Every function reports on stdout/stderr and leaves `set -e` to its caller.

# The google-proto-files tree: $1 if given, else $RS_SVC_GOOGLE_PROTO_FILES; prints its absolute
# path, or explains and exits 2.
ga_corpus() {
  local corpus="${1:-${RS_SVC_GOOGLE_PROTO_FILES:-}}"
  if [ -z "$corpus" ] || [ ! -d "$corpus/google/cloud" ]; then
    echo "no google-proto-files tree: pass --corpus DIR or set RS_SVC_GOOGLE_PROTO_FILES" >&2
    exit 2
  fi
  (cd "$corpus" && pwd)
}

# The plugin binary: $1 if given, else built with `cargo build --release`; prints its absolute
# path.
ga_plugin() {
  local plugin="$1"
  if [ -z "$plugin" ]; then
    cargo build --release --locked --quiet --bin protoc-gen-rs-svc >&2
    plugin="${CARGO_TARGET_DIR:-target}/release/protoc-gen-rs-svc"
  fi
  echo "$(cd "$(dirname "$plugin")" && pwd)/$(basename "$plugin")"
}

# protoc: $1 if given, else $RS_SVC_PROTOC, else the protoc 36.2 of the protoc-bin-vendored
# crate in the cargo registry (cargo fetch puts it there), else protoc36 on PATH; prints it or
# nothing.
ga_protoc() {
  local protoc="${1:-${RS_SVC_PROTOC:-}}"
  if [ -z "$protoc" ]; then
    local registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
    protoc=$(ls -d "$registry"/*/protoc-bin-vendored-linux-x86_64-3.*/bin/protoc 2>/dev/null |
      sort -V | tail -1 || true)
    [ -n "$protoc" ] || protoc=$(command -v protoc36 || true)
  fi
  echo "$protoc"
}

# Every API directory of google/cloud (one holding a .proto with a `service`), relative to
# google/, one a line.
ga_all_dirs() {
  (cd "$1" && grep -rl --include='*.proto' '^service ' google/cloud |
    xargs -n1 dirname | sort -u | sed 's|^google/||')
}

# The path of API directory $2 in corpus $1: under google/cloud, else under google/ (pubsub,
# storage, spanner live there).
ga_api_path() {
  if [ -d "$1/google/cloud/$2" ]; then echo "google/cloud/$2"; else echo "google/$2"; fi
}

# The .proto files of corpus $1 given as arguments and everything they import, transitively,
# relative to the corpus, sorted.
ga_import_closure() {
  local corpus="$1"
  shift
  (cd "$corpus" && printf '%s\n' "$@" | awk -v corpus="$corpus" '
    { queue[n++] = $0; seen[$0] = 1 }
    END {
      for (i = 0; i < n; i++) {
        file = queue[i]
        while ((getline line < file) > 0) {
          if (line ~ /^[ \t]*import[ \t]/ && match(line, /"[^"]+"/)) {
            dep = substr(line, RSTART + 1, RLENGTH - 2)
            if (!(dep in seen)) { seen[dep] = 1; queue[n++] = dep }
          }
        }
        close(file)
      }
      for (f in seen) print f
    }' | sort)
}

# openapi-spec-validator and `redocly lint` on every OpenAPI document under directory $1 (many
# files per invocation: both are slow to start). Prints the documents, the errors of each tool,
# and redocly's warnings by rule; returns non-zero on any error.
ga_validate_openapi() {
  local dir="$1" validator="${RS_SVC_OPENAPI_SPEC_VALIDATOR:-}" redocly="${RS_SVC_REDOCLY:-}"
  local tools="${RS_SVC_TOOLS:-$HOME/.cache/rs-svc/tools}"
  [ -n "$validator" ] || validator=$(command -v openapi-spec-validator || echo "$tools/venv/bin/openapi-spec-validator")
  [ -n "$redocly" ] || redocly=$(command -v redocly || echo "$tools/redocly/node_modules/.bin/redocly")
  if [ ! -x "$validator" ] || [ ! -x "$redocly" ]; then
    echo "no openapi-spec-validator or redocly: set RS_SVC_OPENAPI_SPEC_VALIDATOR and RS_SVC_REDOCLY" >&2
    return 2
  fi
  local list
  list=$(mktemp)
  (cd "$dir" && find . \( -name '*.openapi.yaml' -o -name '*.openapi.json' \) | sed 's|^\./||' | sort) >"$list"
  local documents
  documents=$(wc -l <"$list")
  echo "== OpenAPI: $documents documents under $dir"
  local start=$(date +%s) invalid=0 out
  out=$(mktemp)
  # openapi-spec-validator prints `<file>: OK` per valid document and stops at the first
  # invalid one of an invocation, so batches go on after a failure with the rest.
  local rest
  mapfile -t rest <"$list"
  while [ "${#rest[@]}" -gt 0 ]; do
    (cd "$dir" && "$validator" "${rest[@]:0:200}") >"$out" 2>&1 || true
    local ok
    ok=$(grep -c ': OK$' "$out" || true)
    if [ "$ok" -lt "${#rest[@]}" ] && [ "$ok" -lt 200 ]; then
      invalid=$((invalid + 1))
      echo "INVALID ${rest[$ok]} (openapi-spec-validator):"
      grep -v ': OK$' "$out" | head -20 | sed 's/^/       /'
      rest=("${rest[@]:$((ok + 1))}")
    else
      rest=("${rest[@]:200}")
    fi
  done
  echo "openapi-spec-validator: documents=$documents invalid=$invalid seconds=$(($(date +%s) - start))"
  # redocly's recommended rules; JSON output, summed here by severity and rule.
  start=$(date +%s)
  local json
  json=$(mktemp)
  : >"$json"
  mapfile -t rest <"$list"
  while [ "${#rest[@]}" -gt 0 ]; do
    (cd "$dir" && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
      "$redocly" lint --format=json "${rest[@]:0:300}" 2>/dev/null) >>"$json" || true
    echo >>"$json"
    rest=("${rest[@]:300}")
  done
  local redocly_errors
  redocly_errors=$(python3 - "$json" <<'EOF'
import json, sys, collections
text = open(sys.argv[1]).read()
decoder, pos, counts, located = json.JSONDecoder(), 0, collections.Counter(), []
while True:
    while pos < len(text) and text[pos] != '{':
        pos += 1
    if pos >= len(text):
        break
    report, pos = decoder.raw_decode(text, pos)
    for p in report.get("problems", []):
        counts[(p["severity"], p["ruleId"])] += 1
        if p["severity"] == "error" and len(located) < 20:
            loc = (p.get("location") or [{}])[0]
            located.append(f'{loc.get("source", {}).get("ref", "?")} {loc.get("pointer", "")}: {p["ruleId"]}: {p["message"]}')
for line in located:
    print("ERROR " + line, file=sys.stderr)
for sev in ("error", "warn"):
    rules = {r: c for (s, r), c in counts.items() if s == sev}
    detail = " ".join(f"{r}={c}" for r, c in sorted(rules.items(), key=lambda x: (-x[1], x[0])))
    print(f"redocly {sev}s={sum(rules.values())}" + (f" ({detail})" if detail else ""), file=sys.stderr)
print(sum(c for (s, _), c in counts.items() if s == "error"))
EOF
  )
  echo "redocly: documents=$documents errors=$redocly_errors seconds=$(($(date +%s) - start))"
  rm -f "$list" "$out" "$json"
  [ "$invalid" = 0 ] && [ "$redocly_errors" = 0 ]
}
