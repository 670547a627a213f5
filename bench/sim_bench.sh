#!/usr/bin/env bash
# bench/sim_bench.sh - the issue-3 benchmark: can one xapi-sim process play a
# 1,000-host estate polled the way a collector polls it, in how much CPU and
# memory, and how fast does it start?
#
# usage: bash bench/sim_bench.sh [--write-docs] [--perf] [--basic] [-n STARTS]
#                                [--pools P] [--hosts H] [--vms V] [--history DAYS]
#                                [--warmup S] [--window S] [--idle S] [--fill S]
#   --write-docs  also rewrite the part of docs/BENCHMARKS.md between
#                 <!-- bench:xapi_sim:begin --> and <!-- bench:xapi_sim:end -->
#   --perf        after the window, perf record -g the simulator for 20 s of the same
#                 load and add its top symbols to the report (needs perf)
#   --basic       authenticate with HTTP Basic instead of a session_id per pool
#   -n STARTS     start-up runs per configuration (default 5); the median is reported
#   --pools/--hosts/--vms  the estate under load (default 20 × 50 hosts × 20 VMs)
#   --history     its --history (default 7)
#   --warmup/--window/--idle  seconds (default 65, 60, 20)
#   --fill        manual-clock seconds advanced after the midnight (default 7200)
# Environment: XAPI_SIM (default build/xapi-sim), XAPISTAT (default build/xapistat),
# CC (default cc), MAKE (default make), PYTHON (default python3).
#
# Steps, in one invocation:
#   1. `make build/xapi-sim build/xapistat`; bench/sim_load.c compiled with cc -O2
#      into build/bench/sim_load (when out of date).
#   2. Start-up: the simulator is started STARTS times per configuration and timed
#      from just before the fork to the moment its last `pool` line is on stdout
#      (polled every 5 ms); VmHWM is read then. Configurations: 1 pool × 3 hosts ×
#      15 VMs --history 365 (the issue-3 target), and the load estate with
#      --history 7 and --history 365.
#   3. Load: the load estate with --history DAYS; host addresses from GET
#      /sim/state on the first master, one session per pool from
#      session.login_with_password (JSON-RPC) on each master; build/bench/sim_load
#      asks every host /rrd_updates once per 5 s, spread evenly, for a warm-up and
#      a window, and reads the simulator's /proc/PID/stat (utime + stime) and
#      VmHWM at the window's ends. The warm-up default (65 s) puts the one-off
#      allocation of the 60 s archive rows (at the first minute boundary after
#      start) before the window. Then IDLE seconds without load: the cost of the
#      5 s RRD step alone. One body of the window is read back with
#      `xapistat rrd2csv --summary -`.
#   4. Steady-state memory: each archive's ring of a data source grows with the
#      rows it recorded (from 4 rows, by half, up to its row count), so a minute
#      of load does not show the long-run size. The load estate is started with
#      --manual-clock 65 s before a UTC midnight, /sim/clock/advance?seconds=70
#      crosses the minute, hour and day boundaries, one 5 s round of requests
#      runs, and VmHWM is read; then FILL seconds more (default 7200: the 5 s and
#      1 min rings are full), another round, VmHWM again. The size after D days is
#      computed from there: the hourly and daily rings' growth (their capacity
#      schedule, as sim/rrd_model.c's ring_grown) × the cells of one row of every
#      data source (host data sources of the sample × 3 CFs + VM ones, × hosts).
# Every process the script starts is stopped on exit (trap). The markdown report
# goes to stdout and to build/bench/sim_bench.md.
#
# Exit: 0 when every step ran, even if a target is missed (FAIL in the table);
# 1 when a command failed or the simulator died; 2 on a usage error.
set -euo pipefail
readonly BENCH_NAME=sim_bench
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Issue-3 targets.
readonly TARGET_CPU_MAX=0.5            # simulator CPU seconds per wall second, under load
readonly TARGET_HWM_MAX_MIB=2048       # simulator VmHWM
readonly TARGET_READY_MAX_S=5          # 3 hosts × 15 VMs, --history 365: ready within

readonly SMALL_POOLS=1 SMALL_HOSTS=3 SMALL_VMS=15 SMALL_HISTORY=365
readonly PERIOD=5                      # seconds between two requests to one host
readonly SLICE_STEPS=20000             # sim/main.c SIM_MAIN_SLICE_STEPS
readonly READY_TIMEOUT_S=300           # a start taking longer is a failure
readonly PERF_MAX_S=20
readonly USER_NAME=root PASSWORD=pw SEED=1

usage() { usage_lines 6 18; }

write_docs=0 perf=0 basic=0
STARTS=5 POOLS=20 HOSTS=50 VMS=20 HISTORY=7 WARMUP=65 WINDOW=60 IDLE=20 FILL=7200
while (($#)); do
	case $1 in
	--write-docs) write_docs=1 ;;
	--perf) perf=1 ;;
	--basic) basic=1 ;;
	-n | --pools | --hosts | --vms | --history | --warmup | --window | --idle | --fill)
		[[ $# -ge 2 ]] || usage
		case $1 in
		-n) STARTS=$2 ;;
		--pools) POOLS=$2 ;;
		--hosts) HOSTS=$2 ;;
		--vms) VMS=$2 ;;
		--history) HISTORY=$2 ;;
		--warmup) WARMUP=$2 ;;
		--window) WINDOW=$2 ;;
		--idle) IDLE=$2 ;;
		--fill) FILL=$2 ;;
		esac
		shift
		;;
	*) usage ;;
	esac
	shift
done
for v in STARTS POOLS HOSTS VMS WINDOW IDLE FILL; do posint "$v" "${!v}"; done
((FILL <= 86400)) || die "--fill is at most 86400 (one /sim/clock/advance)"
[[ $HISTORY =~ ^[0-9]+$ && $WARMUP =~ ^[0-9]+$ ]] || die "--history and --warmup want integers"

locate_bins
CC=${CC:-cc}
MAKE=${MAKE:-make}
PYTHON=${PYTHON:-python3}
readonly OUT=build/bench
readonly TMP=$OUT/sim
readonly LOAD=$OUT/sim_load
readonly REPORT=$OUT/sim_bench.md
readonly HEADING='## Issue 3: xapi-sim under load'
readonly NHOSTS=$((POOLS * HOSTS))

median() { # numbers... -> the median (lower middle for an even count)
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# --- processes: every simulator started is in SIMS and stopped on exit ---------

declare -a SIMS=() HELPERS=() # simulators, and background sim_load runs
SIM_PID='' SIM_OUT='' READY_S='' MASTER_URL='' SIM_PORT=''
stop_on_exit HELPERS SIMS

# start_sim TAG ARGS...: starts the simulator with ARGS, waits for its pool lines;
# sets SIM_PID, SIM_OUT, READY_S (seconds from launch to the last pool line),
# MASTER_URL (the first pool's) and SIM_PORT.
start_sim() {
	local tag=$1 pools=0 a prev='' t0 t1
	shift
	for a in "$@"; do
		[[ $prev == --pools ]] && pools=$a
		prev=$a
	done
	SIM_OUT=$TMP/$tag.out
	: >"$SIM_OUT"
	t0=$EPOCHREALTIME
	"$XAPI_SIM" "$@" >"$SIM_OUT" 2>"$SIM_OUT.err" &
	SIM_PID=$!
	SIMS+=("$SIM_PID")
	wait_pool_lines "$SIM_OUT" "$pools" "$SIM_PID" "$t0" 0.005 || case $? in
	1)
		cat "$SIM_OUT.err" >&2
		die "the simulator exited before it was ready: $(show_cmd "$XAPI_SIM" "$@")"
		;;
	*) die "not ready after ${READY_TIMEOUT_S}s: $(show_cmd "$XAPI_SIM" "$@")" ;;
	esac
	t1=$EPOCHREALTIME
	READY_S=$(calc 3 "$t1 - $t0")
	MASTER_URL=$(awk '/^pool /{ print $3; exit }' "$SIM_OUT")
	SIM_PORT=${MASTER_URL##*:}
}

stop_sim() {
	local pid=$SIM_PID rc=0 keep=() p
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || rc=$?
	for p in "${SIMS[@]}"; do
		[[ $p == "$pid" ]] || keep+=("$p")
	done
	SIMS=("${keep[@]}")
	((rc == 0)) || die "the simulator (pid $pid) exited with status $rc; see $SIM_OUT.err"
}

sim_args() { # pools hosts vms history [extra...]
	local p=$1 h=$2 v=$3 d=$4
	shift 4
	printf '%s\n' --pools "$p" --hosts "$h" --vms-per-host "$v" --listen 127.0.0.1 --port 0 \
		--user "$USER_NAME" --password "$PASSWORD" --seed "$SEED" --history "$d" "$@"
}

# XAPI and control calls, through python3 (no curl or jq needed).
readonly PY_HTTP='
import json, sys, urllib.request
def call(url, data=None, ctype=None):
    req = urllib.request.Request(url, data=data)
    if ctype:
        req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, timeout=600) as r:
        return r.read()
cmd = sys.argv[1]
if cmd == "hosts":          # master_url user password basic(0|1) -> "address [session]" lines
    url, user, pw, basic = sys.argv[2:6]
    port = url.rsplit(":", 1)[1]
    state = json.loads(call(url + "/sim/state"))
    for pool in state["pools"]:
        session = ""
        if basic == "0":
            body = json.dumps({"jsonrpc": "2.0", "method": "session.login_with_password",
                               "params": [user, pw, "1.0", "sim_bench"], "id": 1}).encode()
            ans = json.loads(call("http://%s:%s/jsonrpc" % (pool["master_address"], port),
                                  body, "application/json"))
            session = " " + ans["result"]
        for h in pool["hosts"]:
            print(h["address"] + session)
elif cmd == "advance":      # master_url seconds
    print(call(sys.argv[2] + "/sim/clock/advance", ("seconds=" + sys.argv[3]).encode(),
               "application/x-www-form-urlencoded").decode())
'
py_http() { "$PYTHON" -c "$PY_HTTP" "$@"; }

# --- 1. build ----------------------------------------------------------------------

command -v "$PYTHON" >/dev/null 2>&1 || die "no $PYTHON"
mkdir -p "$OUT" "$TMP"
build_bins
build_helper sim_load -lm
build_only_exit
if ((perf)); then
	command -v perf >/dev/null 2>&1 || die "--perf: no perf"
fi

# One descriptor per host for the listeners, one per connection on each side.
raise_fds $((2 * NHOSTS + 512))

# --- 2. start-up ---------------------------------------------------------------------

declare -A READY_MED HWM_MAX START_CMD
# time_starts KEY pools hosts vms history
time_starts() {
	local key=$1 i hwm=0 h
	local -a args times=()
	mapfile -t args < <(sim_args "$2" "$3" "$4" "$5")
	START_CMD[$key]=$(show_cmd "$XAPI_SIM" "${args[@]}")
	for ((i = 1; i <= STARTS; i++)); do
		start_sim "start_$key" "${args[@]}"
		h=$(proc_kib "$SIM_PID" VmHWM)
		((h > hwm)) && hwm=$h
		times+=("$READY_S")
		stop_sim
	done
	READY_MED[$key]=$(median "${times[@]}")
	HWM_MAX[$key]=$hwm
	echo "sim_bench: start-up $key: ready in ${times[*]} s; VmHWM $(mib "$hwm") MiB" >&2
}
time_starts small "$SMALL_POOLS" "$SMALL_HOSTS" "$SMALL_VMS" "$SMALL_HISTORY"
time_starts big_h7 "$POOLS" "$HOSTS" "$VMS" 7
time_starts big_h365 "$POOLS" "$HOSTS" "$VMS" 365

# --- 3. load -------------------------------------------------------------------------

mapfile -t LOAD_SIM_ARGS < <(sim_args "$POOLS" "$HOSTS" "$VMS" "$HISTORY")
LOAD_SIM_CMD=$(show_cmd "$XAPI_SIM" "${LOAD_SIM_ARGS[@]}")
start_sim load "${LOAD_SIM_ARGS[@]}"
readonly HOSTS_FILE=$TMP/hosts.txt SAMPLE=$TMP/sample.xml
py_http hosts "$MASTER_URL" "$USER_NAME" "$PASSWORD" "$basic" >"$HOSTS_FILE" ||
	die "cannot read the hosts or log in at $MASTER_URL"
got=$(wc -l <"$HOSTS_FILE")
((got == NHOSTS)) || die "/sim/state lists $got hosts, expected $NHOSTS"
rm -f "$SAMPLE"
load_cmd=("$LOAD" -H "$HOSTS_FILE" -p "$SIM_PORT" -P "$SIM_PID" -i "$PERIOD" -w "$WARMUP"
	-d "$WINDOW" -s "$SAMPLE")
((basic)) && load_cmd+=(-u "$USER_NAME:$PASSWORD")
LOAD_CMD=$(show_cmd "${load_cmd[@]}" | sed "s/-P $SIM_PID/-P SIMPID/; s/-p $SIM_PORT/-p PORT/")
echo "sim_bench: load $(show_cmd "${load_cmd[@]}") (${WARMUP}s warm-up + ${WINDOW}s)" >&2
"${load_cmd[@]}" >"$TMP/load.txt" || die "sim_load failed: $(show_cmd "${load_cmd[@]}")"
LINE=$(cat "$TMP/load.txt")
echo "sim_bench:   $LINE" >&2
alive "$SIM_PID" || die "the simulator died under load; see $SIM_OUT.err"

# idle: the RRD step alone
c0=$(proc_cpu_s "$SIM_PID")
t0=$EPOCHREALTIME
sleep "$IDLE"
c1=$(proc_cpu_s "$SIM_PID")
IDLE_FRAC=$(calc 4 "($c1 - $c0) / ($EPOCHREALTIME - $t0)")
echo "sim_bench: idle ${IDLE}s: $IDLE_FRAC of a core" >&2

# --perf: a profile of the same load, after the window so as not to weigh on it
perf_txt=$OUT/sim_perf.txt
rm -f "$perf_txt"
if ((perf)); then
	perf_load=("$LOAD" -H "$HOSTS_FILE" -p "$SIM_PORT" -i "$PERIOD" -w 2 -d "$PERF_MAX_S")
	((basic)) && perf_load+=(-u "$USER_NAME:$PASSWORD")
	"${perf_load[@]}" >"$TMP/perf_load.txt" &
	perf_load_pid=$!
	HELPERS+=("$perf_load_pid")
	sleep 2
	perf record -g -o "$TMP/perf.data" -p "$SIM_PID" -- sleep "$PERF_MAX_S" 2>"$TMP/perf.err" ||
		die "perf record failed: $(cat "$TMP/perf.err")"
	wait "$perf_load_pid" || die "sim_load failed under perf"
	HELPERS=()
	perf_top "$TMP/perf.data" "$perf_txt" 20
fi
stop_sim

[[ -s $SAMPLE ]] || die "sim_load saved no sample body"
SAMPLE_SUMMARY=$("$XAPISTAT" rrd2csv --summary - <"$SAMPLE") ||
	die "xapistat rrd2csv --summary - cannot read $SAMPLE"
SAMPLE_BYTES=$(stat -c %s "$SAMPLE")
# Data sources of the sampled host, by kind: the cells of one row of every data
# source (SPEC §1.5: float32; hosts keep AVERAGE, MIN and MAX on the three coarse
# archives, VMs AVERAGE only), for the growth computed in step 4.
SAMPLE_HOST_DS=$(grep -o '<entry>[A-Z]*:host:' "$SAMPLE" | wc -l)
SAMPLE_VM_DS=$(grep -o '<entry>[A-Z]*:vm:' "$SAMPLE" | wc -l)

# --- 4. steady-state memory -----------------------------------------------------------

midnight=$(((EPOCHSECONDS / 86400 + 1) * 86400))
mapfile -t STEADY_ARGS < <(sim_args "$POOLS" "$HOSTS" "$VMS" "$HISTORY" --manual-clock $((midnight - 65)))
STEADY_CMD=$(show_cmd "$XAPI_SIM" "${STEADY_ARGS[@]}")
start_sim steady "${STEADY_ARGS[@]}"
STEADY_HWM_START=$(proc_kib "$SIM_PID" VmHWM)
t0=$EPOCHREALTIME
py_http advance "$MASTER_URL" 70 >"$TMP/advance.txt" || die "/sim/clock/advance failed"
ADVANCE_S=$(calc 2 "$EPOCHREALTIME - $t0")
py_http hosts "$MASTER_URL" "$USER_NAME" "$PASSWORD" "$basic" >"$HOSTS_FILE"
steady_cmd=("$LOAD" -H "$HOSTS_FILE" -p "$SIM_PORT" -P "$SIM_PID" -i "$PERIOD" -w 0 -d "$PERIOD")
((basic)) && steady_cmd+=(-u "$USER_NAME:$PASSWORD")
STEADY_LINE=$("${steady_cmd[@]}") || die "sim_load failed on the steady-state simulator"
STEADY_HWM=$(proc_kib "$SIM_PID" VmHWM)
echo "sim_bench: past midnight: VmHWM $(mib "$STEADY_HWM") MiB ($STEADY_LINE)" >&2
t0=$EPOCHREALTIME
py_http advance "$MASTER_URL" "$FILL" >"$TMP/advance_fill.txt" || die "/sim/clock/advance failed"
FILL_S=$(calc 1 "$EPOCHREALTIME - $t0")
py_http hosts "$MASTER_URL" "$USER_NAME" "$PASSWORD" "$basic" >"$HOSTS_FILE"
FILL_LINE=$("${steady_cmd[@]}") || die "sim_load failed on the steady-state simulator"
FILL_HWM=$(proc_kib "$SIM_PID" VmHWM)
FILL_RSS=$(proc_kib "$SIM_PID" VmRSS)
echo "sim_bench: $FILL s later (in $FILL_S s): VmHWM $(mib "$FILL_HWM") MiB ($FILL_LINE)" >&2
stop_sim

# Growth after that, computed: rows of the hourly and daily rings still to come.
# One row of every data source: host ones keep 3 CFs, VM ones 1; float32 cells.
ROW_BYTES=$((NHOSTS * (SAMPLE_HOST_DS * 3 + SAMPLE_VM_DS) * 4))
# rows of the 1 h and 1 d rings held at the fill measurement (first rows at the midnight)
H_ROWS0=$((1 + (FILL + 5) / 3600)) D_ROWS0=1
readonly GROWTH_AWK='
function grown(rows, need,   c) { c = 4; while (c < need) { c += int(c / 2); c = int((c + 3) / 4) * 4 }
	return c < rows ? c : rows }
function est(d,   h) { h = 24 * d + 1; if (h > 168) h = 168
	return base + row * (grown(168, h) - grown(168, h0) + grown(366, d + 1) - grown(366, d0)) }'
growth() { awk -v base="$((FILL_HWM * 1024))" -v row="$ROW_BYTES" -v h0="$H_ROWS0" -v d0="$D_ROWS0" \
	"$GROWTH_AWK $1"; }
DAY1_MIB=$(growth 'BEGIN { printf "%.1f", est(1) / 1048576 }')
DAY7_MIB=$(growth 'BEGIN { printf "%.1f", est(7) / 1048576 }')
FULL_MIB=$(growth 'BEGIN { printf "%.1f", est(366) / 1048576 }')
OVER_DAY=$(growth "BEGIN { for (d = 1; d <= 366; d++) if (est(d) > $TARGET_HWM_MAX_MIB * 1048576) { print d; exit } print \"none\" }")

# --- 5. the report ----------------------------------------------------------------------

sim_cpu=$(field "$LINE" sim_cpu_frac)
sim_hwm=$(field "$LINE" sim_hwm_kib)
issued=$(field "$LINE" issued)
ok=$(field "$LINE" ok)
expected=$((NHOSTS * WINDOW / PERIOD))
steady_ok=$(field "$STEADY_LINE" ok)

cpu=$(cpu_model)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
estate="$POOLS pools × $HOSTS hosts × $VMS VMs"

# shellcheck disable=SC2016 # literal backquotes for markdown
if ((basic)); then
	auth_desc='HTTP Basic auth'
else
	auth_desc='one `session_id` per pool, from `session.login_with_password`'
fi

write_body() {
	echo "One xapi-sim process plays $NHOSTS hosts; \`bench/sim_load.c\` (one thread, epoll,"
	echo "one connection per host at a time) asks every host"
	echo "\`GET /rrd_updates?start=S&host=true&cf=AVERAGE&interval=5\` once per ${PERIOD} s, the"
	echo "requests spread evenly over the period, S the \`<end>\` of the host's previous answer"
	echo "($auth_desc),"
	echo "reads every answer whole and checks it is an rrd_updates document. The simulator's"
	echo "CPU is its utime + stime from \`/proc/PID/stat\` over the window ÷ the window's"
	echo "wall time; memory is VmHWM from \`/proc/PID/status\`. Start-up is timed from the"
	echo "fork to the last \`pool\` line on the simulator's stdout (polled every 5 ms)."
	echo "\`bash bench/sim_bench.sh --write-docs\` measures and rewrites this section"
	echo "(\`--perf\` adds a profile; \`-h\` lists the options)."
	echo
	echo "Measured $(date -u +%Y-%m-%d) at commit \`$commit\` on ${cpu:-an unknown CPU}," \
		"$(nproc) cores, $(uname -sr); $("$CC" --version | head -n 1)."
	echo "The load client runs on the same machine as the simulator."
	echo
	echo "| Target (issue 3) | Goal | Measured | Result |"
	echo "|---|---|---:|---|"
	echo "| simulator CPU, $estate ($NHOSTS hosts), one \`/rrd_updates\` per host per ${PERIOD} s, ${WINDOW} s window | ≤ $TARGET_CPU_MAX core | $(calc 3 "$sim_cpu") core | $(pass_fail "$sim_cpu <= $TARGET_CPU_MAX") |"
	echo "| simulator VmHWM at the end of that window | ≤ $TARGET_HWM_MAX_MIB MiB | $(mib "$sim_hwm") MiB | $(pass_fail "$sim_hwm <= $TARGET_HWM_MAX_MIB * 1024") |"
	echo "| simulator VmHWM past the first UTC midnight (rows in all four archives), $FILL s later (5 s and 1 min rings full) | ≤ $TARGET_HWM_MAX_MIB MiB | $(mib "$STEADY_HWM") MiB, $(mib "$FILL_HWM") MiB | $(pass_fail "$FILL_HWM <= $TARGET_HWM_MAX_MIB * 1024") |"
	echo "| simulator memory after the first day (computed from the line above) | ≤ $TARGET_HWM_MAX_MIB MiB | $DAY1_MIB MiB | $(pass_fail "$DAY1_MIB <= $TARGET_HWM_MAX_MIB") |"
	echo "| ready, $SMALL_POOLS pool × $SMALL_HOSTS hosts × $SMALL_VMS VMs, \`--history $SMALL_HISTORY\` (median of $STARTS) | < $TARGET_READY_MAX_S s | ${READY_MED[small]} s | $(pass_fail "${READY_MED[small]} < $TARGET_READY_MAX_S") |"
	echo "| requests of the window answered 200 with an rrd_updates document | all $expected | $ok of $issued | $(pass_fail "$ok == $expected && $issued == $expected") |"
	echo
	echo "| Load window ($estate, \`--history $HISTORY\`, ${WINDOW} s after ${WARMUP} s warm-up) | |"
	echo "|---|---:|"
	echo "| requests / s | $(field "$LINE" req_per_s) |"
	echo "| answers: 200 / late slots / errors / timeouts / bad bodies | $(field "$LINE" ok) / $(field "$LINE" late) / $(field "$LINE" errors) / $(field "$LINE" timeouts) / $(field "$LINE" bad_body) |"
	echo "| response bytes / s | $(calc 1 "$(field "$LINE" mb_per_s)") MB/s ($(calc 1 "$(field "$LINE" bytes) / $(field "$LINE" "done") / 1000") kB per answer) |"
	echo "| latency p50 / p99 / max (connect to last byte) | $(calc 2 "$(field "$LINE" p50_ms)") / $(calc 2 "$(field "$LINE" p99_ms)") / $(calc 2 "$(field "$LINE" max_ms)") ms |"
	echo "| simulator CPU under load | $(calc 3 "$sim_cpu") core ($(field "$LINE" sim_cpu_s) s) |"
	echo "| simulator CPU without load (the 5 s RRD step alone, ${IDLE} s after the window) | $(calc 3 "$IDLE_FRAC") core |"
	echo "| load client CPU | $(calc 3 "$(field "$LINE" client_cpu_frac)") core ($(field "$LINE" client_cpu_s) s), peak RSS $(mib "$(field "$LINE" client_hwm_kib)") MiB |"
	echo "| simulator VmRSS / VmHWM at the end of the window | $(mib "$(field "$LINE" sim_rss_kib)") / $(mib "$sim_hwm") MiB |"
	echo
	echo "| Start-up (fork to the last \`pool\` line, median of $STARTS) | ready s | VmHWM MiB |"
	echo "|---|---:|---:|"
	echo "| $SMALL_POOLS × $SMALL_HOSTS hosts × $SMALL_VMS VMs, \`--history $SMALL_HISTORY\` | ${READY_MED[small]} | $(mib "${HWM_MAX[small]}") |"
	echo "| $estate, \`--history 7\` | ${READY_MED[big_h7]} | $(mib "${HWM_MAX[big_h7]}") |"
	echo "| $estate, \`--history 365\` | ${READY_MED[big_h365]} | $(mib "${HWM_MAX[big_h365]}") |"
	echo
	echo "Steady-state memory: a data source's ring of an archive holds the rows it recorded"
	echo "live, from 4 rows at the archive's first boundary after start, growing by half"
	echo "(in multiples of 4 rows) up to the archive's 120 / 120 / 168 / 366 rows; the blocks"
	echo "come from 1 MiB slabs per block size, unmapped once a growth wave empties them."
	echo "Older rows are synthesised from the workload, as the \`--history\` rows are."
	echo "With \`--manual-clock\` 65 s before a UTC midnight, \`/sim/clock/advance?seconds=70\`"
	echo "(${ADVANCE_S} s, every 5 s step of 1,000 hosts recorded) crossed the minute, hour and"
	echo "day boundaries; VmHWM went from $(mib "$STEADY_HWM_START") MiB to $(mib "$STEADY_HWM") MiB after one round"
	echo "of requests ($steady_ok of $NHOSTS answered 200). \`seconds=$FILL\` more (${FILL_S} s) filled"
	echo "the 5 s and 1 min rings: VmHWM $(mib "$FILL_HWM") MiB, VmRSS $(mib "$FILL_RSS") MiB"
	echo "($(field "$FILL_LINE" ok) of $NHOSTS answered 200)."
	echo
	echo "The 5 s step runs on the event loop in slices of at most $SLICE_STEPS data-source steps"
	echo "(\`SIM_MAIN_SLICE_STEPS\` in sim/main.c), one RRD at a time. The 70 s advance above is"
	echo "14 steps × $NHOSTS × $((SAMPLE_HOST_DS + SAMPLE_VM_DS)) data sources in ${ADVANCE_S} s, about"
	echo "$(calc 0 "$ADVANCE_S * 1e9 / (14 * $NHOSTS * ($SAMPLE_HOST_DS + $SAMPLE_VM_DS))") ns a step, so one slice is about $(calc 1 "$ADVANCE_S * 1000 * $SLICE_STEPS / (14 * $NHOSTS * ($SAMPLE_HOST_DS + $SAMPLE_VM_DS))") ms (estimated, not"
	echo "measured per callback; the load's p99 / max latency above is the measured proxy)."
	echo
	echo "What is still to come is the hourly ring (24 rows a day, full after 7 days) and"
	echo "the daily one (1 row a day, full after 366). One row of every data source is"
	echo "$NHOSTS hosts × ($SAMPLE_HOST_DS host data sources × 3 CFs + $SAMPLE_VM_DS VM ones) × 4 bytes"
	echo "= $(calc 2 "$ROW_BYTES / 1048576") MiB, so the rings grow by about $(calc 1 "25 * $ROW_BYTES / 1048576") MiB a day in the first"
	echo "week and $(calc 2 "$ROW_BYTES / 1048576") MiB a day after it, allocated in steps of half the ring."
	echo "Computed from the $(mib "$FILL_HWM") MiB above with that schedule: $DAY1_MIB MiB after the first day,"
	echo "$DAY7_MIB MiB after a week, $FULL_MIB MiB with every ring full (366 days)."
	if [[ $OVER_DAY == none ]]; then
		echo "2 GiB is not exceeded within the daily archive's 366 days."
	else
		echo "2 GiB ($TARGET_HWM_MAX_MIB MiB) is exceeded from day $OVER_DAY of continuous running"
		echo "(the daily ring's growth step then); a simulator meant to run longer than that"
		echo "at this size needs fewer data sources or hosts."
	fi
	echo
	echo "A body of the window ($SAMPLE_BYTES bytes) read back by \`xapistat rrd2csv --summary -\`:"
	echo "\`$SAMPLE_SUMMARY\`."
	if [[ -s $perf_txt ]]; then
		echo
		echo "Where the simulator's time goes under the same load (\`perf record -g -p SIMPID -- sleep $PERF_MAX_S\`,"
		echo "after the window, self time ≥ 1%):"
		echo
		echo '```'
		sed 's/[[:space:]]*$//' "$perf_txt"
		echo '```'
	fi
	echo
	echo "Commands, from the repository root (\`bash bench/sim_bench.sh\` runs them all;"
	echo "PORT and SIMPID are the simulator's; \`hosts.txt\` holds \"address session\" lines):"
	echo
	echo '```sh'
	echo "${START_CMD[small]}    # start-up, ×$STARTS"
	echo "${START_CMD[big_h7]}    # start-up, ×$STARTS"
	echo "${START_CMD[big_h365]}    # start-up, ×$STARTS"
	echo "$LOAD_SIM_CMD    # under load"
	echo "$LOAD_CMD"
	echo "$XAPISTAT rrd2csv --summary - < $SAMPLE"
	echo "$STEADY_CMD    # steady-state memory"
	echo "curl -d seconds=70 MASTER/sim/clock/advance    # the script POSTs it with python3"
	echo "curl -d seconds=$FILL MASTER/sim/clock/advance"
	echo '```'
}

body=$OUT/sim_bench.body.md
write_report "$body"

echo "sim_bench: report in $REPORT" >&2
if ((write_docs)); then
	update_docs xapi_sim "$HEADING" "$body"
fi
