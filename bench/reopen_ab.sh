#!/usr/bin/env bash
# bench/reopen_ab.sh - A/B of two xapistat builds answering VM stats from a
# reopened store (what a restarted daemon serves): each build in turn runs
# `serve` on a fresh copy of STORE (no reachable pool, so no ingest), and wrk
# asks one connection, 20 s per kind, for VMs picked at random from UUIDS
# (bench/api_bench.lua). Two rounds, builds alternating. Prints one line per
# run: round, build, kind, req/s, mean ms (1000 / req/s), p99.
#
# usage: bash bench/reopen_ab.sh OLD_XAPISTAT NEW_XAPISTAT STORE UUIDS [KIND...]
#   STORE, UUIDS: e.g. build/bench/api/data and build/bench/api/uuids after
#   bash bench/api_bench.sh; KIND default: minutes range6h seconds.
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
old=$1 new=$2 store=$3 uuids=$4
shift 4
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(minutes range6h seconds)
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/xs-reopen-ab-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
for round in 1 2; do
  for which in old new; do
    bin=$old
    [ "$which" = new ] && bin=$new
    rm -rf "$work/data" && cp -r "$store" "$work/data"
    "$bin" serve --data "$work/data" --listen "127.0.0.1:$port" --pool http://root:password@127.0.0.1:1 \
      > "$work/serve.log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/api/v1/status" && break; sleep 0.2; done
    for k in "${kinds[@]}"; do
      r=$(cd "$root" && wrk -t1 -c1 -d20s --timeout 30s --latency -s bench/api_bench.lua \
            "http://127.0.0.1:$port/" -- "$k" "$uuids" 2>&1)
      rps=$(echo "$r" | awk '/Requests\/sec/{print $2}')
      p99=$(echo "$r" | awk '/ 99%/{print $2}')
      echo "round $round $which $k req/s $rps mean_ms $(awk -v r="$rps" 'BEGIN{printf "%.3f", 1000/r}') p99 $p99"
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
    pid=
  done
done
