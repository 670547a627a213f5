# shellcheck shell=bash
# bench/lib.sh - what the benchmark scripts of bench/ share; sourced, never run.
#
# A script sets BENCH_NAME (the prefix of its messages on stderr, e.g. api_bench)
# and then sources this file from its top level, before any cd (or as bench/lib.sh
# once in the repository root, as web_bench.sh does):
#     readonly BENCH_NAME=api_bench
#     # shellcheck source=bench/lib.sh
#     . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Sourcing only defines: it starts nothing, changes no directory and sets no trap.
#
# Set here: ROOT (the repository root, absolute), DOCS (docs/BENCHMARKS.md, from
# ROOT), BENCH_SCRIPT (the sourcing script's path, as it was invoked), HELPER_CFLAGS
# (for build_helper), STATS and STATS_SEEN (for stats).
#
# Helpers, any script:
#   die MSG...             "BENCH_NAME: MSG" on stderr, exit 1
#   usage_lines FROM TO    lines FROM..TO of the script (its header comment, the
#                          "# " taken off) on stderr, exit 2
#   posint NAME VALUE      die unless VALUE is a positive integer
#   resolve PATH           PATH as seen from the caller's directory (bare names stay)
#   show_cmd ARGS...       one command line, shell-quoted where needed
#   calc DIGITS EXPR       EXPR (awk) printed with DIGITS decimals; bash has no floats
#   holds EXPR             true when EXPR (awk) holds
#   pass_fail EXPR         PASS or FAIL
#   field LINE KEY         the value of KEY=value in a line of key=value words
#   proc_kib PID KEY       VmHWM or VmRSS of PID in KiB; mib KIB -> MiB, 1 decimal
#   proc_cpu_s PID         utime + stime of PID in seconds
#   alive PID              PID is not empty and the process exists
#   cpu_model              the CPU's model name, or nothing
#   commit_label           short HEAD, "+ uncommitted changes" when src/ or bench/ differ
#   perf_top DATA OUT [N]  the top N (25) symbols of a perf.data by self time into OUT
#   update_docs NAME HEADING BODY
#                          replace what lies between <!-- bench:NAME:begin --> and
#                          <!-- bench:NAME:end --> in DOCS with the file BODY; add
#                          HEADING and the markers when absent (cwd: ROOT)
# Helpers that read the script's variables when called:
#   locate_bins            XAPI_SIM and XAPISTAT from the environment (default
#                          build/xapi-sim, build/xapistat) resolved against the
#                          caller's directory, then cd ROOT and both made relative
#                          to it when under it
#   build_bins             make XAPI_SIM and XAPISTAT when under build/ (MAKE); die
#                          unless both are executable
#   build_only_exit        exit 0 here when BENCH_BUILD_ONLY=1 (after the build step)
#   build_helper NAME [LIBS...]
#                          cc (CC) HELPER_CFLAGS bench/NAME.c into OUT/NAME when out
#                          of date (older than the source, the script or this file)
#   raise_fds N            ulimit -n to at least N (the message names NHOSTS hosts)
#   stop_on_exit VAR...    on exit, SIGTERM then wait for every pid held in the
#                          variables VAR (scalars or arrays, empty ones skipped), in
#                          that order; SIGINT and SIGTERM exit 130
#   wait_pool_lines FILE N PID T0 POLL
#                          poll every POLL s until FILE holds N `pool ` lines (0);
#                          1 when PID is gone first, 2 when READY_TIMEOUT_S have
#                          passed since T0 ($EPOCHREALTIME)
#   write_report BODY      write_body (the script's) into the file BODY, then HEADING,
#                          a blank line and BODY into REPORT, and REPORT on stdout
# For a script that runs xapi-sim and `xapistat serve` (api_bench, serve_bench):
#   start_estate_sim       xapi-sim, POOLS x HOSTS x VMS, SEED, HISTORY, loopback,
#                          stdout in TMP/sim.out, stderr in TMP/sim.err; waits for
#                          its POOLS pool lines; sets SIM_ARGS, SIM_CMD, SIM_OUT, SIM_PID
#   start_serve ARGS...    xapistat serve --data DATA ARGS --pool URL..., one per
#                          pool line of SIM_OUT with USER_NAME:PASSWORD in the URL,
#                          on an empty DATA, log in LOG; sets POOL_ARGS, SERVE_PID,
#                          SERVE_T0, SERVE_CMD (what the report shows)
#   stats                  SIGUSR1 to SERVE_PID, then its next `stats` line (from
#                          LOG, after "why=signal ") into STATS; not in a subshell
#   stats_settled LINE     the stats line counts NHOSTS hosts, a backfill per host,
#                          none in backoff and none late

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_SCRIPT=${BASH_SOURCE[1]}
readonly BENCH_LIB=${BASH_SOURCE[0]}
readonly DOCS=docs/BENCHMARKS.md
readonly -a HELPER_CFLAGS=(-std=c17 -O2 -Wall -Wextra -Wpedantic -Wformat=2 -Wshadow
	-Wstrict-prototypes -Wmissing-prototypes)

die() {
	echo "$BENCH_NAME: $*" >&2
	exit 1
}

usage_lines() {
	sed -n "$1,$2p" "$BENCH_SCRIPT" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

posint() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 wants a positive integer, not '$2'"; }

resolve() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*/*) printf '%s\n' "$PWD/$1" ;;
	*) printf '%s\n' "$1" ;;
	esac
}

locate_bins() {
	XAPI_SIM=$(resolve "${XAPI_SIM:-build/xapi-sim}")
	XAPISTAT=$(resolve "${XAPISTAT:-build/xapistat}")
	cd "$ROOT" || exit
	XAPI_SIM=${XAPI_SIM#"$ROOT"/}
	XAPISTAT=${XAPISTAT#"$ROOT"/}
}

show_cmd() {
	local out='' a
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_./=:+-]+$ ]]; then
			out+="$a "
		else
			out+="$(printf '%q' "$a") "
		fi
	done
	printf '%s\n' "${out% }"
}

calc() { awk "BEGIN { printf \"%.${1}f\", $2 }"; }
holds() { awk "BEGIN { exit !($1) }"; }
pass_fail() { if holds "$1"; then echo PASS; else echo FAIL; fi; }

field() { # line, key -> value
	[[ $1 =~ (^| )$2=([^ ]+) ]] || die "no $2= in '$1'"
	printf '%s\n' "${BASH_REMATCH[2]}"
}

proc_kib() { # pid, VmHWM|VmRSS -> KiB
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}
proc_cpu_s() { # pid -> utime + stime in seconds
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"
}
mib() { calc 1 "$1 / 1024"; }

alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

cpu_model() { awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true; }

commit_label() {
	local commit dirty
	commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	dirty=$(git status --porcelain -- src bench 2>/dev/null | head -c1 || true)
	[[ -n $dirty ]] && commit+=" + uncommitted changes"
	printf '%s\n' "$commit"
}

# --- building ------------------------------------------------------------------------

build_bins() {
	local mk=() t
	for t in "$XAPI_SIM" "$XAPISTAT"; do
		[[ $t == build/* ]] && mk+=("$t")
	done
	if ((${#mk[@]})); then
		"$MAKE" --no-print-directory "${mk[@]}" >&2 || die "make ${mk[*]} failed"
	fi
	[[ -x $XAPI_SIM && -x $XAPISTAT ]] || die "no $XAPI_SIM or $XAPISTAT"
}

# After a script's build step: with BENCH_BUILD_ONLY=1 in the environment, say so
# and stop there (tests/e2e/bench_build_test.sh: make check builds every bench's own
# programs without running a bench, so that a change to src/ cannot break one unseen).
build_only_exit() {
	if [[ ${BENCH_BUILD_ONLY:-0} == 1 ]]; then
		echo "$BENCH_NAME: built (BENCH_BUILD_ONLY=1), not run" >&2
		exit 0
	fi
}

build_helper() {
	local name=$1
	shift
	local src=bench/$name.c bin=$OUT/$name
	if [[ ! -x $bin || $src -nt $bin || $BENCH_SCRIPT -nt $bin || $BENCH_LIB -nt $bin ]]; then
		echo "$BENCH_NAME: $(show_cmd "$CC" "${HELPER_CFLAGS[@]}" -o "$bin" "$src" "$@")" >&2
		"$CC" "${HELPER_CFLAGS[@]}" -o "$bin" "$src" "$@" || die "cannot compile $src"
	fi
}

raise_fds() {
	if (($(ulimit -n) < $1)); then
		ulimit -n "$1" 2>/dev/null ||
			die "$NHOSTS hosts need $1 descriptors; ulimit -n is $(ulimit -n), hard $(ulimit -Hn)"
	fi
}

# --- processes -----------------------------------------------------------------------

BENCH_STOP_VARS=()
stop_on_exit() {
	BENCH_STOP_VARS=("$@")
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}
bench_cleanup() {
	local v ref pid pids=()
	for v in "${BENCH_STOP_VARS[@]}"; do
		ref="${v}[@]"
		for pid in ${!ref+"${!ref}"}; do
			[[ -n $pid ]] && pids+=("$pid")
		done
	done
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
}

wait_pool_lines() { # file, count, pid, t0, poll seconds
	local n
	while :; do
		n=$(grep -c '^pool ' "$1" || true)
		((n >= $2)) && return 0
		alive "$3" || return 1
		holds "$EPOCHREALTIME - $4 < $READY_TIMEOUT_S" || return 2
		sleep "$5"
	done
}

start_estate_sim() {
	local t0
	SIM_ARGS=(--pools "$POOLS" --hosts "$HOSTS" --vms-per-host "$VMS" --listen 127.0.0.1 --port 0
		--seed "$SEED" --history "$HISTORY")
	SIM_CMD=$(show_cmd "$XAPI_SIM" "${SIM_ARGS[@]}")
	SIM_OUT=$TMP/sim.out
	: >"$SIM_OUT"
	"$XAPI_SIM" "${SIM_ARGS[@]}" >"$SIM_OUT" 2>"$TMP/sim.err" &
	SIM_PID=$!
	t0=$EPOCHREALTIME
	wait_pool_lines "$SIM_OUT" "$POOLS" "$SIM_PID" "$t0" 0.01 || case $? in
	1) die "the simulator exited before it was ready: $(cat "$TMP/sim.err")" ;;
	*) die "the simulator is not ready after ${READY_TIMEOUT_S}s" ;;
	esac
	echo "$BENCH_NAME: $SIM_CMD ready in $(calc 2 "$EPOCHREALTIME - $t0") s" >&2
}

start_serve() {
	local url
	POOL_ARGS=()
	while read -r _ _ url; do
		POOL_ARGS+=(--pool "${url%%://*}://$USER_NAME:$PASSWORD@${url#*://}")
	done < <(grep '^pool ' "$SIM_OUT")
	rm -rf "$DATA"
	: >"$LOG"
	"$XAPISTAT" serve --data "$DATA" "$@" "${POOL_ARGS[@]}" 2>"$LOG" >/dev/null &
	SERVE_PID=$!
	# shellcheck disable=SC2034 # for the script
	SERVE_T0=$EPOCHREALTIME
	SERVE_CMD="$(show_cmd "$XAPISTAT" serve --data "$DATA" "$@") --pool http://$USER_NAME:$PASSWORD@MASTER:PORT ... (one per pool, $POOLS)"
	echo "$BENCH_NAME: $SERVE_CMD" >&2
}

STATS_SEEN=0 STATS=''
stats() {
	local n t0=$EPOCHREALTIME line
	kill -USR1 "$SERVE_PID" 2>/dev/null || die "xapistat serve died; see $LOG"
	while :; do
		n=$(grep -c 'stats: why=signal ' "$LOG" || true)
		((n > STATS_SEEN)) && break
		alive "$SERVE_PID" || die "xapistat serve died; see $LOG"
		holds "$EPOCHREALTIME - $t0 < 30" || die "no stats line 30 s after SIGUSR1; see $LOG"
		sleep 0.05
	done
	STATS_SEEN=$n
	line=$(grep 'stats: why=signal ' "$LOG" | tail -n 1)
	# shellcheck disable=SC2034 # for the script
	STATS=${line#*stats: why=signal }
}

stats_settled() {
	(($(field "$1" hosts) == NHOSTS && $(field "$1" backfills) >= NHOSTS &&
		$(field "$1" backoff) == 0 && $(field "$1" late) == 0))
}

perf_top() {
	perf report -i "$1" --stdio --no-children -g none --percent-limit 1 2>/dev/null |
		grep -v '^#' | grep -v '^$' | head -n "${3:-25}" >"$2" || true
}

# --- the report ------------------------------------------------------------------------

write_report() {
	write_body >"$1"
	{
		echo "$HEADING"
		echo
		cat "$1"
	} >"$REPORT"
	cat "$REPORT"
}

update_docs() {
	local b="<!-- bench:$1:begin -->" e="<!-- bench:$1:end -->" nb ne
	if [[ ! -f $DOCS ]]; then
		printf '# Benchmarks\n' >"$DOCS"
	fi
	nb=$(grep -cxF -- "$b" "$DOCS" || true)
	ne=$(grep -cxF -- "$e" "$DOCS" || true)
	if ((nb == 0 && ne == 0)); then
		printf '\n%s\n\n%s\n%s\n' "$2" "$b" "$e" >>"$DOCS"
	elif ((nb != 1 || ne != 1)); then
		die "$DOCS: want exactly one '$b' and one '$e'"
	fi
	awk -v body="$3" -v b="$b" -v e="$e" '
		$0 == b { print; while ((getline l < body) > 0) print l; skip = 1; next }
		$0 == e { if (!skip) exit 3; skip = 0 }
		!skip { print }
	' "$DOCS" >"$DOCS.tmp" || {
		rm -f "$DOCS.tmp"
		die "$DOCS: the end marker comes before the begin marker"
	}
	mv "$DOCS.tmp" "$DOCS"
	echo "$BENCH_NAME: updated $DOCS" >&2
}
