#!/usr/bin/env bash
# Runs every unit test program (built under ASan + UBSan) and the commands
# given after "--" (lint, the short fuzz runs), then prints one closing line
# "total: N passed, N failed" with the checks of all programs added up.
# Exits non-zero if any program failed.
set -uo pipefail

progs=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  progs+=("$1"); shift
done
# the rest: commands separated by "--", each counted as one check
cmds=()
cur=""
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then
    [ -n "$cur" ] && cmds+=("$cur"); cur=""
  else
    cur+="${cur:+ }$(printf '%q' "$1")"
  fi
  shift
done
[ -n "$cur" ] && cmds+=("$cur")

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export XS_SHARED_DIR=${XS_SHARED_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared}
export XS_BIN_DIR=${XS_BIN_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build/asan}

passed=0
failed=0
broken=()
for p in "${progs[@]}"; do
  out=$("$p" 2>&1)
  rc=$?
  line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  if [ -n "$line" ]; then
    read -r np _ nf _ <<< "$line"
    passed=$((passed + np)); failed=$((failed + nf))
  fi
  if [ $rc -ne 0 ] || [ -z "$line" ]; then
    printf '%s\n' "$out" | tail -n 40
    broken+=("$p")
    [ -z "$line" ] && failed=$((failed + 1))
    echo "FAIL $p (exit $rc)"
  else
    echo "ok   $p: $line"
  fi
done

for c in "${cmds[@]}"; do
  if eval "$c"; then
    passed=$((passed + 1)); echo "ok   $c"
  else
    failed=$((failed + 1)); broken+=("$c"); echo "FAIL $c"
  fi
done

[ ${#broken[@]} -gt 0 ] && echo "failed: ${broken[*]}"
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
