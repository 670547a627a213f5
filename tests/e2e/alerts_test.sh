#!/usr/bin/env bash
# tests/e2e/alerts_test.sh - docs/prometheus-alerts.yml is a valid rules file
# (`promtool check rules`) and each of its alerts fires as tests/e2e/alerts_test.yml
# expects (`promtool test rules`: labels, annotations, not before its `for`). That the
# metric names it uses are those /metrics exports is checked by tests/e2e/api_test.py
# (check 11). promtool comes with Debian's prometheus package (make check installs it).
# Output: one "ok"/"not ok" line per step and a summary like the unit tests'.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")" || exit 1
pass=0 fail=0
step() { # name, command...
	local name=$1 log
	shift
	log=$(mktemp)
	if "$@" >"$log" 2>&1; then
		echo "ok: $name"
		pass=$((pass + 1))
	else
		echo "not ok: $name:"
		sed 's/^/#   /' "$log" | tail -n 40
		fail=$((fail + 1))
	fi
	rm -f "$log"
}
if ! command -v promtool >/dev/null 2>&1; then
	echo "not ok: promtool is not installed (scripts/deps.sh check installs prometheus)"
	echo "0 passed, 1 failed"
	exit 1
fi
step "promtool check rules docs/prometheus-alerts.yml" promtool check rules ../../docs/prometheus-alerts.yml
step "promtool test rules tests/e2e/alerts_test.yml" promtool test rules alerts_test.yml
echo "$pass passed, $fail failed"
((fail == 0))
