#!/usr/bin/env bash
# bench/serve_bench.sh - the issue-5 collection benchmark: does one `xapistat serve`
# keep up with xapi-sim at 1,000 hosts x 20 VMs (no missed 5 s row over the window)
# in at most 25% of one core and 1 GiB of memory?
#
# usage: bash bench/serve_bench.sh [--write-docs] [--window S] [--warmup S]
#                                  [--max-warmup S] [--every N] [--perf S]
#                                  [--pools P] [--hosts H] [--vms V]
#   --write-docs  also rewrite the part of docs/BENCHMARKS.md between
#                 <!-- bench:serve:begin --> and <!-- bench:serve:end -->
#   --window S    the measured window, seconds (default 600)
#   --warmup S    least warm-up, seconds (default 60); the warm-up lasts until
#                 every host is collected, backfilled and within 10 s of its
#                 newest row, two checks 5 s apart (first load and backfill)
#   --max-warmup S  give up when the warm-up takes longer (default 1200)
#   --every N     check every N-th host and VM series of the store (default 1: all)
#   --perf S      after the window, perf record xapistat for S seconds and add
#                 its top symbols to the report (needs perf; not in the window)
#   --pools/--hosts/--vms  the estate (default 20 x 50 hosts x 20 VMs)
# Environment: XAPI_SIM (default build/xapi-sim), XAPISTAT (default
# build/xapistat), CC (default cc), MAKE (default make).
#
# Steps, in one invocation:
#   1. `make build/xapistat build/xapi-sim`; bench/serve_check.c compiled with
#      cc -O2 together with the .c files of src/store and src/lib into
#      build/bench/serve_check.
#   2. The simulator: --history 1, its default user and password (root,
#      password); the script waits for its P `pool` lines.
#   3. `xapistat serve --data build/bench/serve/data --pool URL...` (one --pool
#      per pool, credentials in the URL) on an empty store, log in
#      build/bench/serve/serve.log.
#   4. Warm-up: every 5 s, SIGUSR1 makes serve log a `stats` line
#      (src/cmd_serve.c); the warm-up ends when it counts every host, at least
#      one backfill per host, no host in backoff and none late (lag > 10 s).
#   5. Window: xapistat's utime + stime (/proc/PID/stat) and the simulator's at
#      both ends, the `stats` lines at both ends (fetches, errors, refetches,
#      rows, lag), xapistat's VmRSS every 5 s and its VmHWM at the end (the
#      whole run: the warm-up's peak counts).
#   6. 10 s after the window, SIGTERM (serve flushes and closes the store),
#      then the simulator is stopped; build/bench/serve_check reads the store:
#      5 s points of every host and VM series with FROM <= t <= TO (the 5 s
#      boundaries inside the window), against (TO - FROM) / 5 + 1 per series.
#      A row (object, t) is missed when any series of the object lacks t.
# Every process the script starts is stopped on exit (trap). The markdown report
# goes to stdout and to build/bench/serve_bench.md.
#
# Exit: 0 when every step ran, even if a target is missed (FAIL in the table);
# 1 when a command failed, a process died or the warm-up never ended; 2 on a
# usage error.
set -euo pipefail
readonly BENCH_NAME=serve_bench
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Issue-5 targets.
readonly TARGET_CPU_MAX=0.25           # xapistat CPU seconds per wall second
readonly TARGET_HWM_MAX_MIB=1024       # xapistat VmHWM
readonly TARGET_MISSED_MAX=0           # rows missed over the window

readonly PERIOD=5                      # seconds between two rows of a host
readonly LATE_S=10                     # src/cmd_serve.c SERVE_LATE_SECS
readonly TAIL_S=10                     # seconds collected after the window, before the stop
readonly STOP_TIMEOUT_S=300            # SIGTERM to exit, at most
readonly READY_TIMEOUT_S=300           # simulator start-up, at most
readonly HISTORY=1 SEED=1
readonly USER_NAME=root PASSWORD=password # xapi-sim's defaults (docs/XAPI-SIM.md)

usage() { usage_lines 6 22; }

write_docs=0 PERF_S=0
WINDOW=600 WARMUP=60 MAX_WARMUP=1200 EVERY=1 POOLS=20 HOSTS=50 VMS=20
while (($#)); do
	case $1 in
	--write-docs) write_docs=1 ;;
	--window | --warmup | --max-warmup | --every | --perf | --pools | --hosts | --vms)
		[[ $# -ge 2 ]] || usage
		case $1 in
		--window) WINDOW=$2 ;;
		--warmup) WARMUP=$2 ;;
		--max-warmup) MAX_WARMUP=$2 ;;
		--every) EVERY=$2 ;;
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
for v in WINDOW MAX_WARMUP EVERY POOLS HOSTS VMS; do posint "$v" "${!v}"; done
[[ $WARMUP =~ ^[0-9]+$ && $PERF_S =~ ^[0-9]+$ ]] || die "--warmup and --perf want integers"
((WINDOW >= 2 * PERIOD)) || die "--window is at least $((2 * PERIOD)) s"

locate_bins
CC=${CC:-cc}
MAKE=${MAKE:-make}
readonly OUT=build/bench
readonly TMP=$OUT/serve
readonly DATA=$TMP/data
readonly LOG=$TMP/serve.log
readonly CHECK=$OUT/serve_check
readonly REPORT=$OUT/serve_bench.md
readonly HEADING='## Issue 5: xapistat serve under load'
readonly NHOSTS=$((POOLS * HOSTS))

readonly -a CHECK_CFLAGS=(-std=c17 -O2 -D_GNU_SOURCE -Isrc -Wall -Wextra -Wpedantic -Wformat=2
	-Wshadow -Wstrict-prototypes -Wmissing-prototypes)

# --- processes: every one started is stopped on exit ---------------------------------

SIM_PID='' SERVE_PID='' PERF_PID=''
stop_on_exit PERF_PID SERVE_PID SIM_PID

# --- 1. build --------------------------------------------------------------------------

mkdir -p "$OUT" "$TMP"
build_bins
mapfile -t CHECK_SRC < <(ls bench/serve_check.c src/store/*.c src/lib/*.c)
stale=0
[[ -x $CHECK ]] || stale=1
for f in "${CHECK_SRC[@]}" src/store/*.h src/lib/*.h "${BASH_SOURCE[0]}"; do
	[[ $f -nt $CHECK ]] && stale=1
done
if ((stale)); then
	echo "serve_bench: $(show_cmd "$CC" "${CHECK_CFLAGS[@]}" -o "$CHECK" "${CHECK_SRC[@]}" -lm)" >&2
	"$CC" "${CHECK_CFLAGS[@]}" -o "$CHECK" "${CHECK_SRC[@]}" -lm ||
		die "cannot compile bench/serve_check.c"
fi
build_only_exit
if ((PERF_S)); then
	command -v perf >/dev/null 2>&1 || die "--perf: no perf"
fi

# Listeners, and one connection per host on each side.
raise_fds $((3 * NHOSTS + 512))

# --- 2. the simulator -------------------------------------------------------------------

start_estate_sim

# --- 3. xapistat serve --------------------------------------------------------------------

# shellcheck disable=SC2119 # no arguments before the --pool ones
start_serve

# --- 4. warm-up ---------------------------------------------------------------------------

ok_in_row=0
while :; do
	sleep "$PERIOD"
	alive "$SIM_PID" || die "the simulator died; see $TMP/sim.err"
	stats
	line=$STATS
	el=$(calc 0 "$EPOCHREALTIME - $SERVE_T0")
	echo "serve_bench: warm-up ${el}s: $line" >&2
	if stats_settled "$line"; then
		ok_in_row=$((ok_in_row + 1))
	else
		ok_in_row=0
	fi
	((ok_in_row >= 2 && el >= WARMUP)) && break
	((el <= MAX_WARMUP)) || die "the warm-up did not end in ${MAX_WARMUP}s; see $LOG"
done
WARMUP_S=$(calc 0 "$EPOCHREALTIME - $SERVE_T0")
WARMUP_CPU=$(proc_cpu_s "$SERVE_PID")
WARMUP_HWM=$(proc_kib "$SERVE_PID" VmHWM)

# --- 5. the window ------------------------------------------------------------------------

log_off0=$(stat -c %s "$LOG")
stats
A=$STATS
W0=$EPOCHREALTIME
C0=$(proc_cpu_s "$SERVE_PID")
S0=$(proc_cpu_s "$SIM_PID")
rss_max=0
end=$(calc 6 "$W0 + $WINDOW")
while holds "$EPOCHREALTIME < $end"; do
	left=$(calc 3 "$end - $EPOCHREALTIME")
	holds "$left > $PERIOD" && left=$PERIOD
	holds "$left > 0" && sleep "$left"
	alive "$SERVE_PID" || die "xapistat serve died in the window; see $LOG"
	alive "$SIM_PID" || die "the simulator died in the window; see $TMP/sim.err"
	r=$(proc_kib "$SERVE_PID" VmRSS)
	((r > rss_max)) && rss_max=$r
done
C1=$(proc_cpu_s "$SERVE_PID")
S1=$(proc_cpu_s "$SIM_PID")
W1=$EPOCHREALTIME
stats
B=$STATS
log_off1=$(stat -c %s "$LOG")
HWM=$(proc_kib "$SERVE_PID" VmHWM)
RSS_END=$(proc_kib "$SERVE_PID" VmRSS)
WALL=$(calc 3 "$W1 - $W0")
CPU_FRAC=$(calc 4 "($C1 - $C0) / $WALL")
SIM_FRAC=$(calc 4 "($S1 - $S0) / $WALL")
# 5 s boundaries inside the window, on the host clock (xapi-sim's is ours)
FROM=$(awk -v t="$W0" 'BEGIN { printf "%d", (int(t / 5) + 1) * 5 }')
TO=$(awk -v t="$W1" 'BEGIN { printf "%d", int(t / 5) * 5 }')
echo "serve_bench: window ${WALL}s: xapistat $CPU_FRAC core, simulator $SIM_FRAC core; rows $FROM..$TO" >&2

perf_txt=$OUT/serve_perf.txt
rm -f "$perf_txt"
if ((PERF_S)); then
	perf record -g -o "$TMP/perf.data" -p "$SERVE_PID" -- sleep "$PERF_S" 2>"$TMP/perf.err" &
	PERF_PID=$!
	wait "$PERF_PID" || die "perf record failed: $(cat "$TMP/perf.err")"
	PERF_PID=''
	perf_top "$TMP/perf.data" "$perf_txt"
else
	sleep "$TAIL_S"
fi

# --- 6. stop, then read the store ------------------------------------------------------------

t0=$EPOCHREALTIME
kill -TERM "$SERVE_PID"
rc=0
wait "$SERVE_PID" || rc=$?
STOP_S=$(calc 1 "$EPOCHREALTIME - $t0")
SERVE_PID=''
((rc == 0)) || die "xapistat serve exited with status $rc on SIGTERM; see $LOG"
kill -TERM "$SIM_PID"
wait "$SIM_PID" || die "the simulator exited with an error; see $TMP/sim.err"
SIM_PID=''
DISK_KIB=$(du -sk "$DATA" | awk '{ print $1 }')
t0=$EPOCHREALTIME
CHECK_LINE=$("$CHECK" "$DATA" "$FROM" "$TO" "$EVERY" 2>"$TMP/check.err") ||
	die "serve_check failed: $(cat "$TMP/check.err")"
CHECK_S=$(calc 1 "$EPOCHREALTIME - $t0")
echo "serve_bench: $CHECK_LINE" >&2
head -n 5 "$TMP/check.err" >&2

# window log: warnings and errors
wlog=$TMP/window.log
# (dd, not tail | head: head stopping early would fail the pipeline under pipefail)
dd if="$LOG" of="$wlog" bs=1M iflag=skip_bytes,count_bytes skip="$log_off0" \
	count="$((log_off1 - log_off0))" status=none
WARN_LINES=$(grep -c '^<4>' "$wlog" || true)
ERR_LINES=$(grep -c '^<3>' "$wlog" || true)

# --- report -------------------------------------------------------------------------------------

d() { echo $(($(field "$B" "$1") - $(field "$A" "$1"))); }
MISSED=$(field "$CHECK_LINE" rows_missing)
SLOTS=$(((TO - FROM) / PERIOD + 1))
cpu=$(cpu_model)
commit=$(commit_label)
estate="$POOLS pools × $HOSTS hosts × $VMS VMs"

write_body() {
	echo "Measured $(date -u +%Y-%m-%d) at commit \`$commit\` on ${cpu:-an unknown CPU}," \
		"$(nproc) cores, $(uname -sr); $("$CC" --version | head -n 1)."
	echo "Simulator and xapistat run on the same machine; the simulator used $(calc 3 "$SIM_FRAC") core in the window."
	echo "Estate: $estate ($NHOSTS hosts, $(field "$B" series) series). Window ${WALL} s after a ${WARMUP_S} s warm-up"
	echo "(first load and backfill of every host from an empty store); rows checked: $FROM..$TO ($SLOTS per series)."
	echo
	echo "| Target (issue 5) | Goal | Measured | Result |"
	echo "|---|---|---:|---|"
	echo "| 5 s rows missed over the window (every host and VM) | $TARGET_MISSED_MAX | $MISSED of $(field "$CHECK_LINE" rows_expected) | $(pass_fail "$MISSED <= $TARGET_MISSED_MAX") |"
	echo "| xapistat CPU (utime + stime ÷ wall) | ≤ $TARGET_CPU_MAX core | $(calc 3 "$CPU_FRAC") core | $(pass_fail "$CPU_FRAC <= $TARGET_CPU_MAX") |"
	echo "| xapistat VmHWM (whole run, warm-up included) | ≤ $TARGET_HWM_MAX_MIB MiB | $(mib "$HWM") MiB | $(pass_fail "$HWM <= $TARGET_HWM_MAX_MIB * 1024") |"
	echo
	echo "| Figure | Value |"
	echo "|---|---|"
	echo "| series checked | $(field "$CHECK_LINE" series) ($(field "$CHECK_LINE" hosts) hosts, $(field "$CHECK_LINE" vms) VMs; every ${EVERY}. host/VM series) |"
	echo "| 5 s points missing | $(field "$CHECK_LINE" missing) of $(field "$CHECK_LINE" expected) ($(field "$CHECK_LINE" incomplete_series) series incomplete, $(field "$CHECK_LINE" empty_series) empty) |"
	echo "| objects with a missed row | $(field "$CHECK_LINE" incomplete_objects) of $(field "$CHECK_LINE" objects) |"
	echo "| fetches in the window | $(d fetches) (one per host per ${PERIOD} s: $((NHOSTS * ${WALL%.*} / PERIOD))) |"
	echo "| fetch errors / refetches in the window | $(d errors) / $(d refetches) |"
	echo "| rows / samples stored in the window | $(d rows) / $(d samples) |"
	echo "| warnings / errors logged in the window | $WARN_LINES / $ERR_LINES |"
	echo "| lag at the window's end (max / mean over hosts) | $(field "$B" lag_max) s / $(field "$B" lag_mean) s |"
	echo "| xapistat RSS: peak in the window / at its end | $(mib "$rss_max") MiB / $(mib "$RSS_END") MiB |"
	echo "| heap the collector holds at the window's end (the rest of the RSS: store, libcurl) | $(field "$B" collector_mib) MiB |"
	echo "| warm-up | ${WARMUP_S} s, $(calc 1 "$WARMUP_CPU") CPU s, VmHWM $(mib "$WARMUP_HWM") MiB |"
	echo "| SIGTERM to exit (flush and close) | ${STOP_S} s |"
	echo "| store on disk at the end | $(calc 1 "$DISK_KIB / 1024") MiB |"
	if [[ -s $perf_txt ]]; then
		echo
		echo "Top symbols of xapistat over ${PERF_S} s after the window (\`perf record -g\`, self time):"
		echo
		echo '```'
		cat "$perf_txt"
		echo '```'
	fi
	echo
	echo "Commands:"
	echo
	echo '```sh'
	echo "bash bench/serve_bench.sh --write-docs   # this section; --window 60 for a quick run"
	echo "$SIM_CMD"
	echo "$SERVE_CMD"
	echo "kill -USR1 SERVE_PID                     # a 'stats' line in the log, at both ends of the window"
	echo "build/bench/serve_check $DATA $FROM $TO $EVERY   # after SIGTERM"
	echo '```'
}

body=$TMP/body.md
write_report "$body"

echo "serve_bench: report in $REPORT" >&2
if ((write_docs)); then
	update_docs serve "$HEADING" "$body"
fi
