#!/usr/bin/env bash
# scripts/demo.sh - `make demo`: xapi-sim (2 pools x 3 hosts x 15 VMs, a year of
# history pre-filled) and `xapistat serve` collecting it, on this machine only;
# prints the URL to open; Ctrl-C stops both.
#
# usage: bash scripts/demo.sh            (make demo builds first)
# Environment: DEMO_LISTEN (default 127.0.0.1:8080), DEMO_DATA (default
# build/demo/data: the demo's store, kept between runs so history accumulates;
# `rm -rf build/demo` starts afresh), DEMO_RUN (default build/demo: the logs and
# the simulator's output).
set -euo pipefail
cd "$(dirname "$0")/.."

listen=${DEMO_LISTEN:-127.0.0.1:8080}
data=${DEMO_DATA:-build/demo/data}
run=${DEMO_RUN:-build/demo}
mkdir -p "$run" "$data"
# the previous run's list of pools must not be read as this one's: the simulator's
# redirection truncates it only once the child runs, after the wait below may look
rm -f "$run/sim.out"

sim_pid=""
serve_pid=""
stop() {
  trap - INT TERM EXIT
  [ -n "$serve_pid" ] && kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  [ -n "$sim_pid" ] && kill -TERM "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  echo "demo stopped"
}
trap stop INT TERM EXIT

build/xapi-sim --pools 2 --hosts 3 --vms-per-host 15 --history 365 >"$run/sim.out" 2>"$run/sim.log" &
sim_pid=$!
for _ in $(seq 1 300); do
  [ "$(grep -c '^pool ' "$run/sim.out" 2>/dev/null || true)" -ge 2 ] && break
  kill -0 "$sim_pid" 2>/dev/null || { cat "$run/sim.log" >&2; echo "demo: xapi-sim did not start" >&2; exit 1; }
  sleep 0.1
done
pools=()
while read -r word _name url; do
  [ "$word" = pool ] || continue
  # the simulator's default account (root / password), in the URL
  pools+=(--pool "${url/:\/\//://root:password@}")
done < "$run/sim.out"
[ "${#pools[@]}" -ge 2 ] || { echo "demo: xapi-sim printed no pools" >&2; exit 1; }

build/xapistat serve --data "$data" --listen "$listen" "${pools[@]}" 2>"$run/serve.log" &
serve_pid=$!
# ready when the API accepts connections (bash's /dev/tcp: no curl needed)
probe() { (exec 3<>"/dev/tcp/${listen%:*}/${listen##*:}") 2>/dev/null; }
for _ in $(seq 1 100); do
  if probe; then break; fi
  kill -0 "$serve_pid" 2>/dev/null || { tail -n 20 "$run/serve.log" >&2; echo "demo: xapistat serve did not start" >&2; exit 1; }
  sleep 0.1
done

cat <<MSG

  xapistat demo is running: open  http://$listen/
  API:      http://$listen/api/v1/objects   http://$listen/api/v1/status
  metrics:  http://$listen/metrics
  logs:     $run/serve.log, $run/sim.log
  Ctrl-C stops both.

MSG
wait "$serve_pid"
