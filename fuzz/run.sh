#!/usr/bin/env bash
# Runs libFuzzer targets built from fuzz/<name>.c.
#
# usage: fuzz/run.sh smoke|long build/fuzz/<name>...
#   smoke: FUZZ_SMOKE_SECONDS per target (default 15), for make check
#   long:  FUZZ_SECONDS per target (default 600), for make fuzz
# Seeds come from fuzz/corpus/<name>/ (committed, never written); new inputs go
# to build/fuzz/corpus/<name>/. A dictionary fuzz/<name>.dict is used if present.
# Crashes are saved as build/fuzz/crash-<name>-*; the script fails on any.
set -euo pipefail

mode=$1; shift
case "$mode" in
  smoke) secs=${FUZZ_SMOKE_SECONDS:-15} ;;
  long)  secs=${FUZZ_SECONDS:-600} ;;
  *) echo "usage: $0 smoke|long FUZZER..." >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for bin in "$@"; do
  name=$(basename "$bin")
  seeds="$root/fuzz/corpus/$name"
  work="$root/build/fuzz/corpus/$name"
  mkdir -p "$work"
  args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536
        -artifact_prefix="$root/build/fuzz/crash-$name-" -print_final_stats=0)
  [ -f "$root/fuzz/$name.dict" ] && args+=(-dict="$root/fuzz/$name.dict")
  dirs=("$work")
  [ -d "$seeds" ] && dirs+=("$seeds")
  if "$bin" "${args[@]}" "${dirs[@]}" > "$root/build/fuzz/$name.log" 2>&1; then
    echo "fuzz $name: ${secs}s, $(grep -c . <(ls "$work")) inputs in corpus, no crash"
  else
    echo "fuzz $name: FAILED, see build/fuzz/$name.log"; tail -n 30 "$root/build/fuzz/$name.log"
    status=1
  fi
done
exit $status
