#!/usr/bin/env bash
# Runs every unit test program (built under ASan + UBSan) and the commands
# given after "--" (lint, the short fuzz runs, the end-to-end tests), then
# prints one closing line "total: N passed, N failed" with the checks of all
# programs added up. Exits non-zero if any program or command failed.
#
# usage: tests/run.sh PROGRAM... [-- COMMAND ARG...]...
#
# TEST_JOBS of them run at once (default: the number of CPUs, nproc), in the
# order given; each one's output is kept in a file and printed when it ends,
# so the outputs of two never interleave. Most of make check's time is tests
# that wait on a real clock or on a child process (collect/collector alone is
# about 4 minutes of mostly sleeping), so a second lane halves the run.
# TEST_JOBS=1 runs them one after another, as before.
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

jobs=${TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
if ! [[ $jobs =~ ^[1-9][0-9]*$ ]]; then
  echo "tests/run.sh: TEST_JOBS must be a positive integer, not '$jobs'" >&2
  exit 2
fi

if ((BASH_VERSINFO[0] < 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] < 1))); then
  echo "tests/run.sh: needs bash 5.1 or later (wait -n -p), this is $BASH_VERSION" >&2
  exit 2
fi

out_dir=$(mktemp -d "${TMPDIR:-/tmp}/xs-run-XXXXXX") || exit 1
running=()
# Each test runs in a process group of its own (setsid), and stops its own children;
# on Ctrl-C or any exit of this script the groups still running are stopped whole
# (the daemons, simulators and browsers a test had started included).
trap 'for p in "${running[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done; rm -rf "$out_dir"' EXIT
trap 'exit 130' INT TERM

# item i: a program (i < ${#progs[@]}) or a command (the rest)
items=("${progs[@]}" "${cmds[@]}")
nprog=${#progs[@]}
passed=0
failed=0
broken=()

start_item() { # index
  local i=$1
  if ((i < nprog)); then
    setsid "${items[i]}" >"$out_dir/$i.out" 2>&1 &
  else
    setsid bash -c "${items[i]}" >"$out_dir/$i.out" 2>&1 &
  fi
  pid_item[$!]=$i
  running+=("$!")
}

# report_item index status: prints the item's result and adds up its checks
report_item() {
  local i=$1 rc=$2 out line np nf
  out="$out_dir/$i.out"
  if ((i < nprog)); then
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
    if [ -n "$line" ]; then
      read -r np _ nf _ <<< "$line"
      passed=$((passed + np)); failed=$((failed + nf))
    fi
    if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
      tail -n 40 "$out"
      broken+=("${items[i]}")
      [ -z "$line" ] && failed=$((failed + 1))
      echo "FAIL ${items[i]} (exit $rc)"
    else
      echo "ok   ${items[i]}: $line"
    fi
  else
    cat "$out"
    if [ "$rc" -eq 0 ]; then
      passed=$((passed + 1)); echo "ok   ${items[i]}"
    else
      failed=$((failed + 1)); broken+=("${items[i]}"); echo "FAIL ${items[i]}"
    fi
  fi
}

declare -A pid_item=()
next=0
while ((next < ${#items[@]} || ${#running[@]} > 0)); do
  while ((next < ${#items[@]} && ${#running[@]} < jobs)); do
    start_item "$next"
    next=$((next + 1))
  done
  done_pid=''
  wait -n -p done_pid "${running[@]}"
  rc=$?
  if [ -z "$done_pid" ]; then # no job ended: wait itself failed; do not spin on it
    echo "tests/run.sh: wait failed (status $rc) with ${#running[@]} tests running" >&2
    exit 2
  fi
  report_item "${pid_item[$done_pid]}" "$rc"
  still=()
  for p in "${running[@]}"; do [ "$p" != "$done_pid" ] && still+=("$p"); done
  running=("${still[@]+"${still[@]}"}")
done

[ ${#broken[@]} -gt 0 ] && echo "failed: ${broken[*]}"
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
