#!/usr/bin/env bash
# Runs the fuzz targets (README, "Fuzzing"): builds them with cargo-fuzz on nightly, replays each
# target's saved crash inputs (fuzz/regressions/<target>/), then fuzzes each target in turn for
# SECONDS (default 20) from its committed corpus (fuzz/corpus/<target>, never written to: new
# inputs go to a scratch directory). Usage: fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:-20}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
# Rust code needs no address sanitizer; overflow checks and debug assertions stay on.
flags=(--sanitizer none --debug-assertions)

cargo +nightly fuzz build "${flags[@]}"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
  printf '\n== fuzz %s (%ss)\n' "$target" "$seconds"
  if compgen -G "regressions/$target/*" >/dev/null; then
    cargo +nightly fuzz run "${flags[@]}" "$target" regressions/"$target"/* -- -runs=1
  fi
  mkdir -p "$scratch/$target" "corpus/$target"
  log="$scratch/$target.log"
  if ! cargo +nightly fuzz run "${flags[@]}" "$target" "$scratch/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz target $target failed; the input is in fuzz/artifacts/$target/"
    exit 1
  fi
  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::number_of_executed_units|^stat::average_exec_per_sec' "$log"
done
