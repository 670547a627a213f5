#!/usr/bin/env bash
# bench/api_bench.sh - the issue-6 API benchmark: with 20,000 VMs stored and ingest
# running, are VM stats (any granularity) under 5 ms at p99, top-10 VMs by CPU
# under 10 ms, and /metrics for 20,000 VMs under 1 s? Measured with wrk on
# loopback at 1 and 32 connections.
#
# usage: bash bench/api_bench.sh [--write-docs] [--duration S] [--top-duration S]
#                                [--metrics-runs N] [--max-warmup S] [--perf S]
#                                [--pools P] [--hosts H] [--vms V]
#   --write-docs     also rewrite the part of docs/BENCHMARKS.md between
#                    <!-- bench:api:begin --> and <!-- bench:api:end -->
#   --duration S     seconds of each wrk run of VM stats (default 20)
#   --top-duration S seconds of each wrk run of top and /metrics (default 20, 10)
#   --metrics-runs N full GETs of /metrics timed with curl (default 7)
#   --max-warmup S   give up when the warm-up takes longer (default 1200)
#   --perf S         after the measurements, perf record -g xapistat for S seconds
#                    of 32-connection VM stats load, then over the /metrics GETs,
#                    and add the top symbols to the report (needs perf)
#   --pools/--hosts/--vms  the estate (default 20 pools x 50 hosts x 20 VMs)
# Environment: XAPI_SIM (default build/xapi-sim), XAPISTAT (default
# build/xapistat), MAKE (default make), WRK (default wrk), PYTHON (default python3).
#
# Steps, in one invocation:
#   1. `make build/xapistat build/xapi-sim`.
#   2. The simulator: --history 1, its default user and password (root,
#      password), loopback; the script waits for its P `pool` lines.
#   3. `xapistat serve --data build/bench/api/data --listen 127.0.0.1:PORT --pool
#      URL...` (a free port; one --pool per pool, credentials in the URL) on an
#      empty store, log in build/bench/api/serve.log.
#   4. Warm-up: every 5 s, SIGUSR1 makes serve log a `stats` line and
#      GET /api/v1/status gives hosts_collecting and store_series; the warm-up
#      ends when the stats line counts every host, a backfill per host, no host
#      in backoff and none late, /status has every host collecting, and the
#      series count is unchanged since the previous check, twice in a row.
#      GET /api/v1/objects then lists the VMs (control domains left out; every
#      P x H x V of them must be there); their uuids go to build/bench/api/uuids.
#   5. Check: 10 VMs picked at random, each request kind below once with curl:
#      HTTP 200 and a JSON body with "stats" (python3 json); top and /metrics too.
#   6. Measure, ingest still running: wrk --latency with bench/api_bench.lua,
#      each request for a VM picked at random, for each of: granularity=seconds,
#      minutes, hours, days; a from/to range of one hour ending 0..24 h ago (by
#      budget the 5 s tier, 720 points); a range of six hours ending 0..18 h ago
#      (by budget the 1 min tier, 360 points with bands); at -t1 -c1 and -t2 -c32.
#      A range is answered by a coarser tier when the chosen one holds nothing of
#      its first half for the VM (docs/API.md): on this young store (a day of the
#      hosts' archives: 10 min of 5 s, 2 h of 1 min, the day at 1 h) most of
#      both ranges come at 1 h (2 or 7 points with bands). Then
#      /api/v1/top?kind=vm&metric=cpu&n=10 at the same two settings, and
#      /metrics at -t1 -c1 (--timeout 30s). Before /metrics: granularity=seconds
#      and minutes at -t1 -c1 again while a second client plays the web UI's
#      overview (its 8 top-N questions at once every 4 s, curl -Z; each must be
#      a 200). p50/p99/max are wrk's (µs, printed by the script's done()); any
#      reply above 399 or socket error fails the run.
#      Then N full GETs of /metrics with curl (time_total, body size, samples =
#      lines not starting with '#'), then 3 with Accept-Encoding: gzip (time,
#      bytes sent; the body must gunzip), then 3 of each of two shards:
#      ?pool=FIRST&kind=vm and ?kind=host,sr,self (slowest time, size, samples). xapistat's utime + stime (/proc/PID/stat)
#      around each run, VmRSS once a second, VmHWM at the end; the `stats` line
#      at both ends of the measurements (fetches, errors, lag: is ingest keeping up).
# Every process the script starts is stopped on exit (trap). The markdown report
# goes to stdout and to build/bench/api_bench.md.
#
# Exit: 0 when every step ran, even if a target is missed (FAIL in the table);
# 1 when a command failed, a process died, a reply was not 200 or the warm-up
# never ended; 2 on a usage error.
set -euo pipefail
readonly BENCH_NAME=api_bench
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Issue-6 targets.
readonly TARGET_STATS_P99_MS=5         # VM stats, any granularity, p99
readonly TARGET_TOP_MS=10              # top-10 VMs by CPU (p99)
readonly TARGET_METRICS_S=1            # one full /metrics (the slowest of the GETs)

readonly PERIOD=5                      # seconds between two warm-up checks
readonly LATE_S=10                     # src/cmd_serve.c SERVE_LATE_SECS
readonly READY_TIMEOUT_S=300           # simulator start-up, at most
readonly API_TIMEOUT_S=60              # the API answers after start, at most
readonly CHECK_VMS=10                  # VMs checked with curl before the runs
readonly HISTORY=1 SEED=1
readonly USER_NAME=root PASSWORD=password # xapi-sim's defaults (docs/XAPI-SIM.md)
readonly -a KINDS=(seconds minutes hours days range1h range6h)

usage() { usage_lines 7 21; }

write_docs=0 PERF_S=0
DURATION=20 TOP_DURATION=20 METRICS_DURATION=10 METRICS_RUNS=7 GZIP_RUNS=3 MAX_WARMUP=1200
POOLS=20 HOSTS=50 VMS=20
top_set=0
while (($#)); do
	case $1 in
	--write-docs) write_docs=1 ;;
	--duration | --top-duration | --metrics-runs | --max-warmup | --perf | --pools | --hosts | --vms)
		[[ $# -ge 2 ]] || usage
		case $1 in
		--duration) DURATION=$2 ;;
		--top-duration) TOP_DURATION=$2 top_set=1 ;;
		--metrics-runs) METRICS_RUNS=$2 ;;
		--max-warmup) MAX_WARMUP=$2 ;;
		--perf) PERF_S=$2 ;;
		--pools) POOLS=$2 ;;
		--hosts) HOSTS=$2 ;;
		--vms) VMS=$2 ;;
		esac
		shift
		;;
	-h | --help) usage ;;
	*) usage ;;
	esac
	shift
done
for v in DURATION TOP_DURATION METRICS_RUNS MAX_WARMUP POOLS HOSTS VMS; do posint "$v" "${!v}"; done
[[ $PERF_S =~ ^[0-9]+$ ]] || die "--perf wants an integer"
((top_set)) && METRICS_DURATION=$TOP_DURATION
((METRICS_DURATION > 10)) && METRICS_DURATION=10

locate_bins
MAKE=${MAKE:-make}
WRK=${WRK:-wrk}
PYTHON=${PYTHON:-python3}
readonly OUT=build/bench
readonly TMP=$OUT/api
readonly DATA=$TMP/data
readonly LOG=$TMP/serve.log
readonly UUIDS=$TMP/uuids
readonly LUA=bench/api_bench.lua
readonly REPORT=$OUT/api_bench.md
readonly HEADING='## Issue 6: HTTP API latency'
readonly NHOSTS=$((POOLS * HOSTS))
readonly NVMS=$((NHOSTS * VMS))

ms() { calc 2 "$1 / 1000"; } # µs -> ms

# --- processes: every one started is stopped on exit ---------------------------------

SIM_PID='' SERVE_PID='' PERF_PID='' RSS_PID='' WRK_PID='' UI_PID=''
stop_on_exit WRK_PID UI_PID PERF_PID RSS_PID SERVE_PID SIM_PID

# --- 1. build --------------------------------------------------------------------------

mkdir -p "$OUT" "$TMP"
build_bins
command -v "$WRK" >/dev/null 2>&1 || die "no wrk (bash scripts/deps.sh bench installs it)"
command -v "$PYTHON" >/dev/null 2>&1 || die "no $PYTHON"
command -v curl >/dev/null 2>&1 || die "no curl"
if ((PERF_S)); then
	command -v perf >/dev/null 2>&1 || die "--perf: no perf"
fi
XAPISTAT_SHA=$(sha256sum "$XAPISTAT" | cut -c1-12)

# Listeners, one connection per host on each side, and the API's clients.
raise_fds $((3 * NHOSTS + 512))

# --- 2. the simulator -------------------------------------------------------------------

start_estate_sim

# --- 3. xapistat serve --------------------------------------------------------------------

PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
readonly BASE=http://127.0.0.1:$PORT
start_serve --listen "127.0.0.1:$PORT"
until curl -sf -o /dev/null "$BASE/api/v1/status"; do
	alive "$SERVE_PID" || die "xapistat serve exited at start; see $LOG"
	holds "$EPOCHREALTIME - $SERVE_T0 < $API_TIMEOUT_S" || die "the API does not answer on $BASE after ${API_TIMEOUT_S}s"
	sleep 0.1
done

# RSS once a second into a file, for the whole run
RSS_LOG=$TMP/rss.log
: >"$RSS_LOG"
(
	while [[ -r /proc/$SERVE_PID/status ]]; do
		printf '%s %s\n' "$EPOCHREALTIME" "$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$SERVE_PID/status" 2>/dev/null)" >>"$RSS_LOG"
		sleep 1
	done
) &
# shellcheck disable=SC2034 # stopped on exit (stop_on_exit)
RSS_PID=$!

# status: GET /api/v1/status -> "hosts_collecting store_series"
status() {
	curl -sf --max-time 30 "$BASE/api/v1/status" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)["daemon"]
print(d["hosts_collecting"], d["store_series"])' || echo "- -"
}

# --- 4. warm-up ---------------------------------------------------------------------------

ok_in_row=0 prev_series=-1
while :; do
	sleep "$PERIOD"
	alive "$SIM_PID" || die "the simulator died; see $TMP/sim.err"
	stats
	line=$STATS
	read -r collecting series < <(status)
	el=$(calc 0 "$EPOCHREALTIME - $SERVE_T0")
	echo "api_bench: warm-up ${el}s: collecting=$collecting store_series=$series $line" >&2
	if stats_settled "$line" && [[ $collecting == "$NHOSTS" && $series == "$prev_series" ]]; then
		ok_in_row=$((ok_in_row + 1))
	else
		ok_in_row=0
	fi
	prev_series=$series
	((ok_in_row >= 2)) && break
	((el <= MAX_WARMUP)) || die "the warm-up did not end in ${MAX_WARMUP}s; see $LOG"
done
WARMUP_S=$(calc 0 "$EPOCHREALTIME - $SERVE_T0")
WARMUP_CPU=$(proc_cpu_s "$SERVE_PID")
STORE_SERIES=$series

curl -sf --max-time 60 -o "$TMP/objects.json" "$BASE/api/v1/objects" || die "GET /api/v1/objects failed"
"$PYTHON" - "$TMP/objects.json" "$UUIDS" "$NVMS" <<'EOF' || die "GET /api/v1/objects: not the VMs expected"
import json, sys
d = json.load(open(sys.argv[1]))
vms = [v["uuid"] for v in d["vms"] if not v["is_control_domain"]]
with open(sys.argv[2], "w") as f:
    f.write("".join(u + "\n" for u in vms))
if len(vms) != int(sys.argv[3]):
    sys.exit("api_bench: /api/v1/objects lists %d VMs, want %s" % (len(vms), sys.argv[3]))
EOF
echo "api_bench: warm-up over after ${WARMUP_S}s; $(wc -l <"$UUIDS") VMs, $STORE_SERIES series" >&2

# --- 5. check: every kind of request answers 200 with a JSON body --------------------------

kind_query() { # kind, now -> query string of a stats request
	local to
	case $1 in
	range1h) to=$(($2 - RANDOM % 86400)) && echo "from=$((to - 3600))&to=$to" ;;
	range6h) to=$(($2 - RANDOM % 64800)) && echo "from=$((to - 21600))&to=$to" ;;
	*) echo "granularity=$1" ;;
	esac
}
check_json() { # file, url, key wanted at the top level
	"$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
if sys.argv[2] not in d:
    sys.exit("no %r in the reply" % sys.argv[2])' "$1" "$3" || die "GET $2: not the JSON expected"
}
body=$TMP/check.body
now=$(date +%s)
mapfile -t picks < <(shuf -n "$CHECK_VMS" "$UUIDS")
for u in "${picks[@]}"; do
	for k in "${KINDS[@]}"; do
		url="$BASE/api/v1/vms/$u/stats?$(kind_query "$k" "$now")"
		code=$(curl -s --max-time 30 -o "$body" -w '%{http_code}' "$url") || die "GET $url failed"
		[[ $code == 200 ]] || die "GET $url: HTTP $code: $(head -c 300 "$body")"
		check_json "$body" "$url" stats
	done
done
TOP_PATH='/api/v1/top?kind=vm&metric=cpu&n=10'
code=$(curl -s --max-time 30 -o "$body" -w '%{http_code}' "$BASE$TOP_PATH") || die "GET $TOP_PATH failed"
[[ $code == 200 ]] || die "GET $TOP_PATH: HTTP $code: $(head -c 300 "$body")"
check_json "$body" "$TOP_PATH" items
TOP_ITEMS=$("$PYTHON" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$body")
((TOP_ITEMS == 10)) || die "GET $TOP_PATH: $TOP_ITEMS items, want 10"
echo "api_bench: checked $CHECK_VMS VMs x ${#KINDS[@]} kinds and top: HTTP 200, JSON" >&2

# --- 6. measure ------------------------------------------------------------------------------

stats
S_A=$STATS
LOG_A=$(wc -l <"$LOG") # the serve log's lines before the measurements
M0=$EPOCHREALTIME
MC0=$(proc_cpu_s "$SERVE_PID")

# run NAME THREADS CONNS SECONDS PATH MODE: one wrk run; its result line into R_NAME,
# xapistat's CPU over it into CPU_NAME
declare -A R CPU RPS
WRK_LOG=$TMP/wrk.log
: >"$WRK_LOG"
run() {
	local name=$1 t=$2 c=$3 d=$4 path=$5 mode=$6 out=$TMP/wrk.out c0 c1 w0 line
	local -a args=(-t"$t" -c"$c" -d"${d}s" --timeout 30s --latency -s "$LUA" "$BASE$path" -- "$mode")
	[[ $mode == fixed ]] || args+=("$UUIDS")
	c0=$(proc_cpu_s "$SERVE_PID")
	w0=$EPOCHREALTIME
	"$WRK" "${args[@]}" >"$out" 2>&1 &
	WRK_PID=$!
	wait "$WRK_PID" || die "wrk failed ($name): $(tail -n 5 "$out")"
	WRK_PID=''
	c1=$(proc_cpu_s "$SERVE_PID")
	{
		echo "### $name: $(show_cmd "$WRK" "${args[@]}")"
		cat "$out"
	} >>"$WRK_LOG"
	line=$(grep '^api_bench: ' "$out") || die "wrk ($name): no result line: $(tail -n 5 "$out")"
	line=${line#api_bench: }
	R[$name]=$line
	CPU[$name]=$(calc 2 "($c1 - $c0) / ($EPOCHREALTIME - $w0)")
	RPS[$name]=$(calc 0 "$(field "$line" requests) * 1000000 / $(field "$line" duration_us)")
	alive "$SERVE_PID" || die "xapistat serve died during $name; see $LOG"
	local bad
	bad=$(($(field "$line" status) + $(field "$line" connect) + $(field "$line" read) +
		$(field "$line" write) + $(field "$line" timeout)))
	((bad == 0)) || die "$name: $bad replies not 200 or socket errors: $line"
	echo "api_bench: $name: ${RPS[$name]} req/s p50 $(ms "$(field "$line" p50_us)") ms p99 $(ms "$(field "$line" p99_us)") ms max $(ms "$(field "$line" max_us)") ms; xapistat ${CPU[$name]} core" >&2
}

for k in "${KINDS[@]}"; do
	run "$k/1" 1 1 "$DURATION" / "$k"
	run "$k/32" 2 32 "$DURATION" / "$k"
done
run top/1 1 1 "$TOP_DURATION" "$TOP_PATH" fixed
run top/32 2 32 "$TOP_DURATION" "$TOP_PATH" fixed

# The web UI's overview open: its top cards ask 8 questions at once (vm and host x
# the 4 metrics, n=10) every UI_PERIOD s (web/src/pages.js). VM stats at 1 connection
# meanwhile; each question's time_total into UI_TIMES.
readonly UI_PERIOD=4
UI_TIMES=$TMP/ui_times.txt
: >"$UI_TIMES"
ui_poll() {
	local -a args=()
	local k m
	for k in vm host; do
		for m in cpu memory network disk; do
			args+=(-o /dev/null -w '%{http_code} %{time_total}\n' "$BASE/api/v1/top?kind=$k&metric=$m&n=10")
		done
	done
	while :; do
		curl -s -Z --no-progress-meter --max-time 30 "${args[@]}" >>"$UI_TIMES" || true
		sleep "$UI_PERIOD"
	done
}
for k in seconds minutes; do
	ui_poll &
	UI_PID=$!
	run "ui-$k/1" 1 1 "$DURATION" / "$k"
	kill "$UI_PID" 2>/dev/null || true
	wait "$UI_PID" 2>/dev/null || true
	UI_PID=''
done
UI_N=$(wc -l <"$UI_TIMES")
UI_BAD=$(awk '$1 != 200' "$UI_TIMES" | wc -l)
((UI_N > 0 && UI_BAD == 0)) || die "the web UI's top questions: $UI_BAD of $UI_N not 200"
UI_MED=$(awk '{ print $2 }' "$UI_TIMES" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
UI_MAX=$(awk '{ print $2 }' "$UI_TIMES" | sort -g | tail -n 1)
run metrics/1 1 1 "$METRICS_DURATION" /metrics fixed

# full GETs of /metrics with curl
declare -a MT=()
MBODY=$TMP/metrics.txt
for ((i = 0; i < METRICS_RUNS; i++)); do
	res=$(curl -s --max-time 60 -o "$MBODY" -w '%{http_code} %{time_total} %{size_download}' "$BASE/metrics") ||
		die "GET /metrics failed"
	read -r code tt size <<<"$res"
	[[ $code == 200 ]] || die "GET /metrics: HTTP $code"
	MT+=("$tt")
	echo "api_bench: GET /metrics: $tt s, $size bytes" >&2
done
METRICS_MAX=$(printf '%s\n' "${MT[@]}" | sort -g | tail -n 1)
METRICS_MED=$(printf '%s\n' "${MT[@]}" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
METRICS_MIN=$(printf '%s\n' "${MT[@]}" | sort -g | head -n 1)
METRICS_BYTES=$size
METRICS_SAMPLES=$(grep -vc '^#' "$MBODY" || true)
METRICS_VM_UUIDS=$(grep -o 'vm_uuid="[^"]*"' "$MBODY" | sort -u | wc -l || true)
METRICS_FAMILIES=$(grep -c '^# TYPE ' "$MBODY" || true)

# the same, gzipped, as Prometheus and vmagent ask for it (Accept-Encoding: gzip)
declare -a GT=()
for ((i = 0; i < GZIP_RUNS; i++)); do
	res=$(curl -s --max-time 60 -H 'Accept-Encoding: gzip' -o "$TMP/metrics.gz" \
		-w '%{http_code} %{time_total} %{size_download}' "$BASE/metrics") || die "GET /metrics (gzip) failed"
	read -r code tt gsize <<<"$res"
	[[ $code == 200 ]] || die "GET /metrics (gzip): HTTP $code"
	GT+=("$tt")
	echo "api_bench: GET /metrics gzip: $tt s, $gsize bytes" >&2
done
gzip -t "$TMP/metrics.gz" || die "GET /metrics (gzip): not a gzip body"
GZIP_PLAIN=$(gzip -dc "$TMP/metrics.gz" | wc -c)
GZIP_MED=$(printf '%s\n' "${GT[@]}" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
GZIP_MAX=$(printf '%s\n' "${GT[@]}" | sort -g | tail -n 1)
GZIP_BYTES=$gsize

# shards (docs/API.md, /metrics): one pool's VMs, and the hosts, SRs and the daemon's own
SHARD_POOL=$(curl -sf --max-time 30 "$BASE/api/v1/status" | "$PYTHON" -c '
import json, sys
print(json.load(sys.stdin)["pools"][0]["name"])') || die "GET /api/v1/status: no pool name"
declare -a SHARD_T=() SHARD_B=() SHARD_S=()
for q in "pool=$SHARD_POOL&kind=vm" "kind=host,sr,self"; do
	best=""
	for ((i = 0; i < GZIP_RUNS; i++)); do
		res=$(curl -s --max-time 60 -o "$TMP/shard.txt" -w '%{http_code} %{time_total} %{size_download}' \
			"$BASE/metrics?$q") || die "GET /metrics?$q failed"
		read -r code tt size <<<"$res"
		[[ $code == 200 ]] || die "GET /metrics?$q: HTTP $code"
		echo "api_bench: GET /metrics?$q: $tt s, $size bytes" >&2
		if [[ -z $best ]] || holds "$tt > $best"; then best=$tt; fi
	done
	SHARD_T+=("$best")
	SHARD_B+=("$size")
	SHARD_S+=("$(grep -vc '^#' "$TMP/shard.txt" || true)")
done

MC1=$(proc_cpu_s "$SERVE_PID")
M1=$EPOCHREALTIME
stats
S_B=$STATS
MEASURE_S=$(calc 0 "$M1 - $M0")
MEASURE_CPU=$(calc 2 "($MC1 - $MC0) / ($M1 - $M0)")
HWM=$(proc_kib "$SERVE_PID" VmHWM)
RSS_MAX=$(awk -v t="$M0" '$1 >= t && $2 > m { m = $2 } END { print m + 0 }' "$RSS_LOG")
RSS_END=$(proc_kib "$SERVE_PID" VmRSS)
log_tail=$TMP/measure.log
WARN_LINES=$(grep -c '^<4>' "$LOG" || true)
ERR_LINES=$(grep -c '^<3>' "$LOG" || true)
grep -E '^<[34]>' "$LOG" | sort | uniq -c | sort -rn | head -n 10 >"$log_tail" || true

# --- optional: where the time goes --------------------------------------------------------------

perf_stats=$OUT/api_perf_stats.txt perf_metrics=$OUT/api_perf_metrics.txt
rm -f "$perf_stats" "$perf_metrics"
if ((PERF_S)); then
	perf record -g -o "$TMP/perf.stats.data" -p "$SERVE_PID" 2>"$TMP/perf.err" >/dev/null &
	PERF_PID=$!
	sleep 0.5
	"$WRK" -t2 -c32 -d"${PERF_S}s" --timeout 30s -s "$LUA" "$BASE/" -- mix "$UUIDS" >/dev/null 2>&1 &
	WRK_PID=$!
	wait "$WRK_PID" || true
	WRK_PID=''
	kill -INT "$PERF_PID" && wait "$PERF_PID" || true
	PERF_PID=''
	perf_top "$TMP/perf.stats.data" "$perf_stats"
	perf record -g -o "$TMP/perf.metrics.data" -p "$SERVE_PID" 2>"$TMP/perf.err" >/dev/null &
	PERF_PID=$!
	sleep 0.5
	for ((i = 0; i < 3; i++)); do curl -s --max-time 60 -o /dev/null "$BASE/metrics" || true; done
	kill -INT "$PERF_PID" && wait "$PERF_PID" || true
	PERF_PID=''
	perf_top "$TMP/perf.metrics.data" "$perf_metrics"
fi

# --- report -------------------------------------------------------------------------------------

d() { echo $(($(field "$S_B" "$1") - $(field "$S_A" "$1"))); }
# the largest value of a key over the stats lines logged during the measurements (each
# line's maxima are since the line before)
max_during() { tail -n +"$((LOG_A + 1))" "$LOG" | grep -o " $1=[0-9.]*" | cut -d= -f2 | sort -g | tail -n 1; }
f() { field "${R[$1]}" "$2"; }
cpu=$(cpu_model)
commit=$(commit_label)
estate="$POOLS pools × $HOSTS hosts × $VMS VMs"
kind_name() {
	case $1 in
	range1h) echo 'from/to, 1 h ending 0–24 h ago (the finest tier with data: mostly 1 h here)' ;;
	range6h) echo 'from/to, 6 h ending 0–18 h ago (the finest tier with data: mostly 1 h here)' ;;
	*) echo "granularity=$1" ;;
	esac
}

# worst p99 of the VM stats runs, per connection count
worst() { # conns -> "p99_us name"
	local k best=0 name=''
	for k in "${KINDS[@]}"; do
		if (($(f "$k/$1" p99_us) > best)); then best=$(f "$k/$1" p99_us) name=$k; fi
	done
	echo "$best $name"
}
read -r W1 W1K < <(worst 1)
read -r W32 W32K < <(worst 32)
WUI=$(f ui-seconds/1 p99_us) WUIK=seconds
if (($(f ui-minutes/1 p99_us) > WUI)); then WUI=$(f ui-minutes/1 p99_us) WUIK=minutes; fi

write_body() {
	echo "Measured $(date -u +%Y-%m-%d) at commit \`$commit\` (xapistat sha256 \`$XAPISTAT_SHA…\`) on ${cpu:-an unknown CPU}," \
		"$(nproc) cores, $(uname -sr); $("$WRK" -v 2>&1 | head -n 1 | awk '{ print $1, $2 }')."
	echo "xapi-sim, xapistat serve and wrk run on the same machine, on loopback; ingest runs throughout"
	echo "(every host fetched every 5 s). Estate: $estate ($NVMS VMs, $NHOSTS hosts, $STORE_SERIES series in the store),"
	echo "after a ${WARMUP_S} s warm-up from an empty store (first load and backfill of one day of history)."
	echo "Each request of a stats run is for a VM picked at random among the $NVMS; ${DURATION} s per stats run,"
	echo "${TOP_DURATION} s per top run; 1 connection = \`-t1 -c1\`, 32 connections = \`-t2 -c32\`. Every reply was HTTP 200."
	echo
	echo "| Target (issue 6) | Goal | Measured | Result |"
	echo "|---|---|---:|---|"
	echo "| VM stats, any granularity or range, 1 connection (worst p99) | < $TARGET_STATS_P99_MS ms | $(ms "$W1") ms ($W1K) | $(pass_fail "$W1 < $TARGET_STATS_P99_MS * 1000") |"
	echo "| VM stats, any granularity or range, 32 connections (worst p99) | < $TARGET_STATS_P99_MS ms | $(ms "$W32") ms ($W32K) | $(pass_fail "$W32 < $TARGET_STATS_P99_MS * 1000") |"
	echo "| VM stats, 1 connection, while the web UI's top cards poll (worst p99) | < $TARGET_STATS_P99_MS ms | $(ms "$WUI") ms ($WUIK) | $(pass_fail "$WUI < $TARGET_STATS_P99_MS * 1000") |"
	echo "| top-10 VMs by CPU, 1 connection (p99) | < $TARGET_TOP_MS ms | $(ms "$(f top/1 p99_us)") ms | $(pass_fail "$(f top/1 p99_us) < $TARGET_TOP_MS * 1000") |"
	echo "| top-10 VMs by CPU, 32 connections (p99) | < $TARGET_TOP_MS ms | $(ms "$(f top/32 p99_us)") ms | $(pass_fail "$(f top/32 p99_us) < $TARGET_TOP_MS * 1000") |"
	echo "| /metrics for $NVMS VMs, full GET (slowest of $METRICS_RUNS) | < $TARGET_METRICS_S s | $(calc 3 "$METRICS_MAX") s | $(pass_fail "$METRICS_MAX < $TARGET_METRICS_S") |"
	echo
	echo 'The percentiles are those of wrk 4.1, which include its coordinated-omission correction (`stats_correct`: a reply'
	echo "slower than the run's mean interval per connection adds synthetic samples, as a constant-rate client"
	echo "would see); \"mean\" is the plain mean time per request by Little's law (connections ÷ req/s)."
	echo
	echo "| Request | Conns | req/s | mean ms | p50 ms | p90 ms | p99 ms | max ms | bytes/reply | xapistat CPU |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	local k c name
	for k in "${KINDS[@]}" ui-seconds ui-minutes top metrics; do
		for c in 1 32; do
			name=$k/$c
			[[ -n ${R[$name]:-} ]] || continue
			local label
			case $k in
			top) label="\`$TOP_PATH\`" ;;
			metrics) label='`/metrics`' ;;
			ui-*) label="VM stats, $(kind_name "${k#ui-}"), while the web UI's top cards poll" ;;
			*) label="VM stats, $(kind_name "$k")" ;;
			esac
			echo "| $label | $c | ${RPS[$name]} | $(calc 2 "$c * $(f "$name" duration_us) / $(f "$name" requests) / 1000") | $(ms "$(f "$name" p50_us)") | $(ms "$(f "$name" p90_us)") |" \
				"$(ms "$(f "$name" p99_us)") | $(ms "$(f "$name" max_us)") |" \
				"$(calc 0 "$(f "$name" bytes) / $(f "$name" requests)") | ${CPU[$name]} core |"
		done
	done
	echo
	echo "| Figure | Value |"
	echo "|---|---|"
	echo "| /metrics, full GET with curl ($METRICS_RUNS runs): min / median / max | $(calc 3 "$METRICS_MIN") / $(calc 3 "$METRICS_MED") / $(calc 3 "$METRICS_MAX") s |"
	echo "| the web UI's top cards meanwhile: 8 questions at once every ${UI_PERIOD} s; time per question, median / max ($UI_N asked) | $(calc 1 "$UI_MED * 1000") / $(calc 1 "$UI_MAX * 1000") ms |"
	echo "| /metrics body | $(calc 1 "$METRICS_BYTES / 1000000") MB, $METRICS_SAMPLES samples, $METRICS_FAMILIES families, $METRICS_VM_UUIDS VM uuids |"
	echo "| /metrics gzipped (\`Accept-Encoding: gzip\`, as Prometheus asks; $GZIP_RUNS runs): median / max time, bytes sent for the body's | $(calc 3 "$GZIP_MED") / $(calc 3 "$GZIP_MAX") s, $(calc 1 "$GZIP_BYTES / 1000000") MB for $(calc 1 "$GZIP_PLAIN / 1000000") MB |"
	echo "| /metrics shards ($GZIP_RUNS runs each, slowest): \`?pool=$SHARD_POOL&kind=vm\` (one pool's VMs) / \`?kind=host,sr,self\` | $(calc 3 "${SHARD_T[0]}") s, $(calc 1 "${SHARD_B[0]} / 1000000") MB, ${SHARD_S[0]} samples / $(calc 3 "${SHARD_T[1]}") s, $(calc 1 "${SHARD_B[1]} / 1000000") MB, ${SHARD_S[1]} samples |"
	echo "| xapistat CPU over the measurements (${MEASURE_S} s, API load + ingest) | $MEASURE_CPU core |"
	echo "| xapistat RSS: peak during the measurements / at their end / VmHWM (whole run) | $(mib "$RSS_MAX") / $(mib "$RSS_END") / $(mib "$HWM") MiB |"
	echo "| ingest during the measurements: fetches / errors / refetches / rows | $(d fetches) / $(d errors) / $(d refetches) / $(d rows) (one fetch per host per ${PERIOD} s: $((NHOSTS * ${MEASURE_S%.*} / PERIOD))) |"
	echo "| API handlers during the measurements: took the collector's lock / waited >= 1 ms / waited >= 5 ms for it | $(d api_locks) / $(d api_waits_1ms) / $(d api_waits_5ms) |"
	echo "| the collector's thread during the measurements: longest hold of the lock / longest wait of a top-N refresh to start | $(max_during loop_hold_max_ms) / $(max_during defer_wait_max_ms) ms |"
	echo "| lag at the end (max / mean over hosts), hosts late (> ${LATE_S} s) | $(field "$S_B" lag_max) s / $(field "$S_B" lag_mean) s, $(field "$S_B" late) |"
	echo "| warm-up | ${WARMUP_S} s, $(calc 1 "$WARMUP_CPU") CPU s |"
	echo "| warnings / errors in the serve log (whole run) | $WARN_LINES / $ERR_LINES |"
	local p
	for p in "$perf_stats" "$perf_metrics"; do
		[[ -s $p ]] || continue
		echo
		if [[ $p == "$perf_stats" ]]; then
			echo "Top symbols of xapistat over ${PERF_S} s of VM stats (all six kinds at random) at 32 connections (\`perf record -g\`, self time):"
		else
			echo "Top symbols of xapistat over 3 full GETs of /metrics (\`perf record -g\`, self time):"
		fi
		echo
		echo '```'
		cat "$p"
		echo '```'
	done
	echo
	echo "Commands:"
	echo
	echo '```sh'
	echo "bash bench/api_bench.sh --write-docs   # this section; --pools 1 --hosts 3 --vms 10 --duration 3 for a quick run"
	echo "$SIM_CMD"
	echo "$SERVE_CMD"
	echo "wrk -t1 -c1 -d${DURATION}s --timeout 30s --latency -s $LUA $BASE/ -- KIND $UUIDS   # KIND: ${KINDS[*]}"
	echo "wrk -t2 -c32 -d${DURATION}s --timeout 30s --latency -s $LUA $BASE/ -- KIND $UUIDS"
	echo "wrk -t1 -c1 -d${TOP_DURATION}s --timeout 30s --latency -s $LUA '$BASE$TOP_PATH' -- fixed   # and -t2 -c32"
	echo "curl -s -Z -o /dev/null -w '%{http_code} %{time_total}\\n' '$BASE/api/v1/top?kind=vm&metric=cpu&n=10' ...   # the 8 questions of the web UI (vm, host x cpu, memory, network, disk) every ${UI_PERIOD} s, during the seconds and minutes runs at 1 connection"
	echo "wrk -t1 -c1 -d${METRICS_DURATION}s --timeout 30s --latency -s $LUA $BASE/metrics -- fixed"
	echo "curl -s -o metrics.txt -w '%{http_code} %{time_total} %{size_download}' $BASE/metrics   # $METRICS_RUNS times"
	echo "curl -s -H 'Accept-Encoding: gzip' -o metrics.gz -w '%{http_code} %{time_total} %{size_download}' $BASE/metrics   # $GZIP_RUNS times"
	echo "curl -s -o shard.txt -w '%{http_code} %{time_total} %{size_download}' '$BASE/metrics?pool=$SHARD_POOL&kind=vm'   # and ?kind=host,sr,self, $GZIP_RUNS times each"
	echo '```'
}

body=$TMP/body.md
write_report "$body"
if [[ -s $log_tail ]]; then
	echo "api_bench: warnings and errors of the serve log (count, line):" >&2
	cat "$log_tail" >&2
fi

echo "api_bench: report in $REPORT; wrk output in $WRK_LOG" >&2
if ((write_docs)); then
	update_docs api "$HEADING" "$body"
fi
