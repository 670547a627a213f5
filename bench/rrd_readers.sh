#!/usr/bin/env bash
# bench/rrd_readers.sh - the issue-2 benchmark: how fast, and in how much memory,
# `xapistat rrd2csv --summary` reads a large /rrd_updates document, against
#   - the floor: a process that only read()s the file and memchr-scans it for '<'
#     (bench/floor_memchr.c),
#   - what most C code would do: expat + strtod (bench/expat_summary.c),
#   - node: JSON.parse plus Number() on every value (bench/node_json_summary.js).
#
# usage: bash bench/rrd_readers.sh [--write-docs] [-n RUNS]
#   --write-docs  also rewrite the part of docs/BENCHMARKS.md between
#                 <!-- bench:rrd_readers:begin --> and <!-- bench:rrd_readers:end -->
#   -n RUNS       runs per command (default 5, or $BENCH_RUNS); the median is reported
# Environment: XAPISTAT (default build/xapistat), SHARED_DIR (default ../shared
# beside the repository), CC (default cc), NODE (default node), BENCH_RUNS.
#
# Everything happens in one invocation: the helpers are compiled with `cc -O2` into
# build/bench/ (when out of date), the documents are generated once into
# build/bench/data/ by ../shared/tools/gen_updates.py (cached; regenerated when the
# generator changes), every reader is run once to check that all print the same
# summary line, then each is timed with build/bench/runbench (whole process, wall
# time from fork to wait4, peak RSS from ru_maxrss). The markdown report goes to
# stdout and to build/bench/rrd_readers.md.
#
# Exit: 0 when every command ran and every summary line agreed, even if a target
# is missed (that shows as FAIL in the table); 1 when a command failed or the
# outputs disagree; 2 on a usage error.
set -euo pipefail
readonly BENCH_NAME=rrd_readers
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Issue-2 targets, and the two tolerances this script chose for "small and
# constant" stdin memory (the issue gives no number for those).
readonly TARGET_FLOOR_MAX=1.5         # xapistat XML time / floor time, at most
readonly TARGET_EXPAT_MIN=3           # expat time / xapistat XML time, at least
readonly TARGET_NODE_MIN=8            # node time / xapistat JSON time, at least
readonly TARGET_RSS_SLACK_MIB=16      # peak RSS at most file size + this
readonly TARGET_STDIN_RSS_MAX_MIB=16  # stdin peak RSS at most this ("small")
readonly TARGET_STDIN_RSS_DRIFT_MIB=1 # doubling the document moves it by at most this

readonly VMS=150 ROWS=366 BIG_VMS=300

usage() {
	echo "usage: bash bench/rrd_readers.sh [--write-docs] [-n RUNS]" >&2
	exit 2
}

write_docs=0
RUNS=${BENCH_RUNS:-5}
while (($#)); do
	case $1 in
	--write-docs) write_docs=1 ;;
	-n)
		[[ $# -ge 2 ]] || usage
		RUNS=$2
		shift
		;;
	-h | --help) usage ;;
	*) usage ;;
	esac
	shift
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$RUNS'"

# Environment overrides are resolved against the caller's directory, then every
# path is relative to the repository root so the commands printed are the ones run.
XAPISTAT=$(resolve "${XAPISTAT:-build/xapistat}")
if [[ -n ${SHARED_DIR:-} ]]; then
	SHARED_DIR=$(resolve "$SHARED_DIR")
fi
cd "$ROOT"
if [[ $XAPISTAT == "$ROOT"/* ]]; then
	XAPISTAT=${XAPISTAT#"$ROOT"/}
fi
SHARED_DIR=${SHARED_DIR:-../shared}
CC=${CC:-cc}
NODE=${NODE:-node}
readonly OUT=build/bench
readonly DATA=$OUT/data
readonly GEN=$SHARED_DIR/tools/gen_updates.py
readonly REPORT=$OUT/rrd_readers.md
readonly HEADING='## Issue 2: RRD readers'

declare -a GEN_CMDS=()
# gen_doc OUTFILE ARGS...: run the generator once; the file is cached until it changes.
gen_doc() {
	local out=$1
	shift
	GEN_CMDS+=("$(show_cmd python3 "$GEN" "$@") > $out")
	if [[ ! -s $out || $GEN -nt $out ]]; then
		echo "rrd_readers: generating $out" >&2
		python3 "$GEN" "$@" >"$out.tmp" || die "generator failed: ${GEN_CMDS[-1]}"
		mv "$out.tmp" "$out"
	fi
}

# --- build the helpers and the documents -----------------------------------------

[[ -f $GEN ]] || die "no generator at $GEN (set SHARED_DIR to the shared directory)"
command -v "$XAPISTAT" >/dev/null 2>&1 || die "no $XAPISTAT: run make first, or set XAPISTAT"
command -v "$NODE" >/dev/null 2>&1 || die "no node: install nodejs (scripts/deps.sh bench)"
command -v python3 >/dev/null 2>&1 || die "no python3"
mkdir -p "$DATA"
build_helper runbench
build_helper floor_memchr
build_helper expat_summary -lexpat

readonly XML=$DATA/updates_v${VMS}_r${ROWS}.xml
readonly JSON=$DATA/updates_v${VMS}_r${ROWS}.json
readonly BIG=$DATA/updates_v${BIG_VMS}_r${ROWS}.xml
gen_doc "$XML" --vms "$VMS" --rows "$ROWS"
gen_doc "$JSON" --vms "$VMS" --rows "$ROWS" --json
gen_doc "$BIG" --vms "$BIG_VMS" --rows "$ROWS"

# --- the readers -----------------------------------------------------------------
# Each case: a key, the file given as stdin (/dev/null when the file is an argument),
# the document it reads, a label, and the command.

declare -a KEYS=()
declare -A STDIN DOC LABEL CMD
readonly US=$'\x1f' # separates a command's arguments in CMD[key]
# add_case KEY STDIN DOC LABEL CMD...
add_case() {
	KEYS+=("$1")
	STDIN[$1]=$2
	DOC[$1]=$3
	LABEL[$1]=$4
	shift 4
	CMD[${KEYS[-1]}]=$(IFS=$US && printf '%s' "$*")
}
# Markdown labels hold literal backquotes, hence single quotes.
# shellcheck disable=SC2016
{
	add_case floor /dev/null "$XML" 'memchr floor (read + scan for `<`)' \
		"$OUT/floor_memchr" "$XML"
	add_case xs_xml /dev/null "$XML" '**xapistat** `rrd2csv --summary FILE`' \
		"$XAPISTAT" rrd2csv --summary "$XML"
	add_case xs_json /dev/null "$JSON" '**xapistat** `rrd2csv --summary FILE`' \
		"$XAPISTAT" rrd2csv --summary "$JSON"
	add_case xs_stdin "$XML" "$XML" '**xapistat** `rrd2csv --summary -` (stdin)' \
		"$XAPISTAT" rrd2csv --summary -
	add_case xs_stdin_big "$BIG" "$BIG" '**xapistat** `rrd2csv --summary -` (stdin)' \
		"$XAPISTAT" rrd2csv --summary -
	add_case expat /dev/null "$XML" 'expat + strtod' \
		"$OUT/expat_summary" "$XML"
	add_case node /dev/null "$JSON" 'node `JSON.parse` + `Number()`' \
		"$NODE" bench/node_json_summary.js "$JSON"
}

# The command of case $1, into the array CMD_OUT.
case_cmd() {
	IFS=$US read -r -a CMD_OUT <<<"${CMD[$1]}"
}

# --- 1. correctness: every reader once, outputs compared (also warms the page cache)

declare -A SUMMARY
declare -a CMD_OUT=()
for key in "${KEYS[@]}"; do
	case_cmd "$key"
	redir=''
	if [[ ${STDIN[$key]} != /dev/null ]]; then
		redir=" < ${STDIN[$key]}"
	fi
	echo "rrd_readers: check $(show_cmd "${CMD_OUT[@]}")$redir" >&2
	if ! SUMMARY[$key]=$("${CMD_OUT[@]}" <"${STDIN[$key]}"); then
		die "command failed: $(show_cmd "${CMD_OUT[@]}") < ${STDIN[$key]}"
	fi
done
CMD_expat_big=("$OUT/expat_summary" "$BIG")
SUMMARY[expat_big]=$("${CMD_expat_big[@]}") || die "command failed: $(show_cmd "${CMD_expat_big[@]}")"

mismatch=0
declare -a MISMATCHES=()
agree() { # what, key a, key b
	if [[ ${SUMMARY[$2]} != "${SUMMARY[$3]}" ]]; then
		{
			echo
			echo "rrd_readers: *** OUTPUTS DISAGREE: $1 ***"
			printf '  %-14s %s\n' "$2:" "${SUMMARY[$2]}" "$3:" "${SUMMARY[$3]}"
			echo
		} >&2
		MISMATCHES+=("$1: \`${SUMMARY[$2]}\` vs \`${SUMMARY[$3]}\`")
		mismatch=1
	fi
}
agree 'expat vs xapistat on the XML file' expat xs_xml
agree 'xapistat XML file vs XML on stdin' xs_xml xs_stdin
agree 'expat vs xapistat stdin on the doubled XML' expat_big xs_stdin_big
agree 'node vs xapistat on the JSON file' node xs_json
agree 'xapistat on the XML vs on the JSON (same generator seed)' xs_xml xs_json
[[ ${SUMMARY[floor]} =~ ^[1-9][0-9]*$ ]] || die "floor_memchr printed '${SUMMARY[floor]}'"

# Cell counts come from the reference readers, not from the reader under test.
declare -A CELLS
CELLS[$XML]=$(field "${SUMMARY[expat]}" cells)
CELLS[$JSON]=$(field "${SUMMARY[node]}" cells)
CELLS[$BIG]=$(field "${SUMMARY[expat_big]}" cells)

# --- 2. timing --------------------------------------------------------------------

declare -A MED MIN RSS RUNLINE
for key in "${KEYS[@]}"; do
	case_cmd "$key"
	rb=("$OUT/runbench" -n "$RUNS")
	if [[ ${STDIN[$key]} != /dev/null ]]; then
		rb+=(-i "${STDIN[$key]}")
	fi
	rb+=(-- "${CMD_OUT[@]}")
	RUNLINE[$key]=$(show_cmd "${rb[@]}")
	echo "rrd_readers: time  ${RUNLINE[$key]}" >&2
	line=$("${rb[@]}") || die "timing failed: ${RUNLINE[$key]}"
	echo "rrd_readers:       $line" >&2
	MED[$key]=$(field "$line" median_s)
	MIN[$key]=$(field "$line" min_s)
	RSS[$key]=$(field "$line" max_rss_kib)
done

# --- 3. figures and targets ------------------------------------------------------

declare -A BYTES
for f in "$XML" "$JSON" "$BIG"; do
	BYTES[$f]=$(stat -c %s "$f")
done
mb() { calc 1 "${BYTES[$1]} / 1e6"; }
rss_mib() { calc 1 "${RSS[$1]} / 1024"; }
doc_name() {
	case $1 in
	"$XML") echo "XML $(mb "$1") MB" ;;
	"$JSON") echo "JSON $(mb "$1") MB" ;;
	*) echo "XML $(mb "$1") MB (${BIG_VMS} VMs)" ;;
	esac
}

r_floor=$(calc 2 "${MED[xs_xml]} / ${MED[floor]}")
r_expat=$(calc 2 "${MED[expat]} / ${MED[xs_xml]}")
r_node=$(calc 2 "${MED[node]} / ${MED[xs_json]}")
rss_cap_xml=$(calc 1 "${BYTES[$XML]} / 1048576 + $TARGET_RSS_SLACK_MIB")
rss_cap_json=$(calc 1 "${BYTES[$JSON]} / 1048576 + $TARGET_RSS_SLACK_MIB")
stdin_drift=$(calc 1 "(${RSS[xs_stdin_big]} - ${RSS[xs_stdin]}) / 1024")

declare -a TARGET_ROWS=(
	"| xapistat XML time ÷ floor time | ≤ $TARGET_FLOOR_MAX | $r_floor | $(pass_fail "$r_floor <= $TARGET_FLOOR_MAX") |"
	"| expat time ÷ xapistat XML time | ≥ $TARGET_EXPAT_MIN | $r_expat | $(pass_fail "$r_expat >= $TARGET_EXPAT_MIN") |"
	"| node time ÷ xapistat JSON time | ≥ $TARGET_NODE_MIN | $r_node | $(pass_fail "$r_node >= $TARGET_NODE_MIN") |"
	"| xapistat peak RSS, XML file | ≤ file + $TARGET_RSS_SLACK_MIB MiB = $rss_cap_xml MiB | $(rss_mib xs_xml) MiB | $(pass_fail "${RSS[xs_xml]} <= ${BYTES[$XML]} / 1024 + $TARGET_RSS_SLACK_MIB * 1024") |"
	"| xapistat peak RSS, JSON file | ≤ file + $TARGET_RSS_SLACK_MIB MiB = $rss_cap_json MiB | $(rss_mib xs_json) MiB | $(pass_fail "${RSS[xs_json]} <= ${BYTES[$JSON]} / 1024 + $TARGET_RSS_SLACK_MIB * 1024") |"
	"| xapistat peak RSS, stdin, $(mb "$XML") MB | ≤ $TARGET_STDIN_RSS_MAX_MIB MiB | $(rss_mib xs_stdin) MiB | $(pass_fail "${RSS[xs_stdin]} <= $TARGET_STDIN_RSS_MAX_MIB * 1024") |"
	"| stdin peak RSS, $(mb "$BIG") MB minus $(mb "$XML") MB document | within ±$TARGET_STDIN_RSS_DRIFT_MIB MiB | $stdin_drift MiB | $(pass_fail "${RSS[xs_stdin_big]} - ${RSS[xs_stdin]} <= $TARGET_STDIN_RSS_DRIFT_MIB * 1024 && ${RSS[xs_stdin]} - ${RSS[xs_stdin_big]} <= $TARGET_STDIN_RSS_DRIFT_MIB * 1024") |"
)

tool_version() { # command... -> first line of its output, or "?"
	local v
	v=$("$@" 2>/dev/null | head -n 1) || true
	printf '%s\n' "${v:-?}"
}
cpu=$(cpu_model)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
expat_version=$(dpkg-query -W -f='${Version}' libexpat1-dev 2>/dev/null || echo '?')

# --- 4. the report -----------------------------------------------------------------

write_body() {
	local key doc values
	echo "Measured $(date -u +%Y-%m-%d) at commit \`$commit\` on ${cpu:-an unknown CPU}," \
		"$(nproc) cores, $(uname -sr); $(tool_version "$CC" --version)," \
		"libexpat $expat_version, node $(tool_version "$NODE" --version)."
	echo "Each figure is the median of $RUNS run$( ((RUNS == 1)) || echo s) of the whole process (start-up and exit included);"
	echo "peak RSS is the largest \`ru_maxrss\` over the runs. MB = 10⁶ bytes, MiB = 2²⁰ bytes."
	echo "Documents: \`gen_updates.py --vms $VMS --rows $ROWS\` (${CELLS[$XML]} values, XML and JSON);"
	echo "the stdin memory check also reads \`--vms $BIG_VMS\` (${CELLS[$BIG]} values)."
	echo
	echo "| # | Reader | Input | Median s | Min s | MB/s | Mvalues/s | Peak RSS MiB |"
	echo "|---|---|---|---:|---:|---:|---:|---:|"
	local i=0
	for key in "${KEYS[@]}"; do
		i=$((i + 1))
		doc=${DOC[$key]}
		if [[ $key == floor ]]; then
			values='–'
		else
			values=$(calc 1 "${CELLS[$doc]} / 1e6 / ${MED[$key]}")
		fi
		echo "| $i | ${LABEL[$key]} | $(doc_name "$doc") | $(calc 3 "${MED[$key]}") |" \
			"$(calc 3 "${MIN[$key]}") | $(calc 0 "${BYTES[$doc]} / 1e6 / ${MED[$key]}") |" \
			"$values | $(rss_mib "$key") |"
	done
	echo
	echo "| Target (issue 2) | Goal | Measured | Result |"
	echo "|---|---|---:|---|"
	printf '%s\n' "${TARGET_ROWS[@]}"
	echo
	echo "The two stdin limits (${TARGET_STDIN_RSS_MAX_MIB} MiB, ±${TARGET_STDIN_RSS_DRIFT_MIB} MiB)" \
		"are this benchmark's reading of \"constant for \`-\`\"; the issue gives no number."
	echo
	if ((mismatch)); then
		echo "**OUTPUTS DISAGREE** — these figures are not valid:"
		echo
		printf -- '- %s\n' "${MISMATCHES[@]}"
	else
		echo "Every reader printed the same summary line for the same values:"
		echo "\`${SUMMARY[xs_xml]}\` (XML, JSON and stdin; expat and node agree byte for byte)."
	fi
	echo
	echo "Commands, from the repository root (\`runbench -i F\` runs the command with stdin from F):"
	echo
	echo '```sh'
	printf '%s\n' "${GEN_CMDS[@]}"
	i=0
	for key in "${KEYS[@]}"; do
		i=$((i + 1))
		echo "${RUNLINE[$key]}    # $i"
	done
	echo '```'
}

body=$OUT/rrd_readers.body.md
write_report "$body"

echo "rrd_readers: report in $REPORT" >&2
if ((mismatch)); then
	die "outputs disagree (see above); $DOCS left alone"
fi
if ((write_docs)); then
	update_docs rrd_readers "$HEADING" "$body"
fi
