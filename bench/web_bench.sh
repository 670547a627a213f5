#!/usr/bin/env bash
# bench/web_bench.sh - the issue-7 figures of the web UI: the VM page's first
# paint and charts drawn, and a year of hourly data per series rendered, as the
# browser tests (tests/web/) measure them in headless Chromium against xapi-sim
# and `xapistat serve` (release builds).
#
# usage: bash bench/web_bench.sh [--write-docs] [--runs N]
#   --write-docs  also rewrite the part of docs/BENCHMARKS.md between
#                 <!-- bench:web:begin --> and <!-- bench:web:end -->
#   --runs N      how many runs of the browser tests (default 3); the report
#                 gives the median and the worst of each figure
# Targets (issue 7): VM page first paint under 1 s; a year of hourly data per
# series renders without jank (here: one chart of 8,760 points x 4 series
# under 50 ms, i.e. a few frames).
set -euo pipefail
cd "$(dirname "$0")/.."

readonly BENCH_NAME=web_bench
. bench/lib.sh
write_docs=0
runs=3
while [ $# -gt 0 ]; do
	case "$1" in
	--write-docs) write_docs=1 ;;
	--runs) runs=$2; shift ;;
	*) echo "usage: $0 [--write-docs] [--runs N]" >&2; exit 2 ;;
	esac
	shift
done

make --no-print-directory -s build/xapistat build/xapi-sim web >&2 || die "build failed"
OUT=build/bench/web
mkdir -p "$OUT"
rm -f "$OUT"/figures-*.json
for i in $(seq 1 "$runs"); do
	XS_BIN_DIR=build node --test tests/web/ >"$OUT/run-$i.log" 2>&1 || { tail -30 "$OUT/run-$i.log" >&2; die "browser tests failed (run $i)"; }
	cp build/test-output/web/figures.json "$OUT/figures-$i.json"
done

body=$(python3 - "$OUT" "$runs" <<'PY'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
f = [json.load(open("%s/figures-%d.json" % (out, i))) for i in range(1, runs + 1)]
def col(k): return [x[k] for x in f if k in x]
def row(what, k, target, ok):
    v = col(k)
    med, worst = statistics.median(v), max(v)
    verdict = "" if ok is None else ("PASS" if ok(worst) else "FAIL")
    return "| %s | %s | %.0f ms | %.0f ms | %s |" % (what, target, med, worst, verdict) if med >= 10 \
        else "| %s | %s | %.1f ms | %.1f ms | %s |" % (what, target, med, worst, verdict)
print("| figure | target | median | worst | |")
print("|---|---|---:|---:|---|")
print(row("VM page: first contentful paint", "vm_first_contentful_paint_ms", "< 1 s", lambda w: w < 1000))
print(row("VM page: every chart drawn (mark xs-charts-drawn)", "vm_charts_drawn_ms", "< 1 s", lambda w: w < 1000))
print(row("one chart, a year of hourly points (8,760 x 4 series, bands, a gap): render", "year_hourly_4_series_render_median_ms", "< 50 ms", lambda w: w < 50))
print(row("the same: the next frame after it", "year_hourly_next_frame_ms", "", None))
print(row("VM page, a year at points=8784 from the API: fetch", "vm_page_year_hourly_api_fetch_ms", "", None))
print(row("VM page, a year: render all its charts", "vm_page_year_hourly_render_all_charts_ms", "", None))
PY
)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
report=$(cat <<MD
Measured $(date -u +%F) at commit \`$commit\` on $(nproc) cores, $(chromium --version 2>/dev/null | head -1), node $(node --version);
$runs runs of the browser tests (1 pool x 2 hosts x 4 VMs, 30 days of history), release builds.

$body

Command: \`bash bench/web_bench.sh --write-docs\` (runs \`XS_BIN_DIR=build node --test tests/web/\` and reads
build/test-output/web/figures.json each time). Lines with more points than pixels are thinned to each
pixel column's first, min, max and last value, which is why a year draws in milliseconds.
MD
)
printf '%s\n' "$report"
if ((write_docs)); then
	printf '%s\n' "$report" >"$OUT/web_bench.md"
	update_docs web '## Issue 7: web UI' "$OUT/web_bench.md"
fi
