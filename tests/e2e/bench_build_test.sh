#!/usr/bin/env bash
# tests/e2e/bench_build_test.sh - every bench's own programs still build: the
# store, serve and simulator benches run with BENCH_BUILD_ONLY=1 (bench/lib.sh
# build_only_exit), which compiles what each compiles from src/ and bench/ and
# stops before running anything. A change to src/ that breaks a bench's build
# (a new file its compile line lacks, say) fails here rather than at the next
# `make bench`. rrd_readers.sh is left out: its expat helper needs libexpat-dev,
# a bench package only.
# Output: one "ok"/"not ok" line per bench and a summary like the unit tests'.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
pass=0 fail=0
for b in store_bench serve_bench sim_bench; do
	log=$(mktemp)
	if BENCH_BUILD_ONLY=1 bash "bench/$b.sh" >"$log" 2>&1 && grep -q "^$b: built (BENCH_BUILD_ONLY=1)" "$log"; then
		echo "ok: $b builds"
		pass=$((pass + 1))
	else
		echo "not ok: $b does not build:"
		tail -n 20 "$log" | sed 's/^/#   /'
		fail=$((fail + 1))
	fi
	rm -f "$log"
done
echo "$pass passed, $fail failed"
((fail == 0))
