#!/usr/bin/env bash
# House-style gates run by `make check` (STYLE.md §21): no call of a function
# the style bans (bounded or checked forms exist) in src/, sim/, fuzz/, bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=()
for d in src sim fuzz bench; do [ -d "$d" ] && dirs+=("$d"); done
hits=$(grep -rnE --include='*.c' --include='*.h' \
  '(^|[^_a-zA-Z0-9])(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|strtok)[[:space:]]*\(' "${dirs[@]}" || true)
if [ -n "$hits" ]; then
  echo "lint: banned functions (STYLE.md §21):"
  echo "$hits"
  exit 1
fi
echo "lint: no banned functions"
