#!/usr/bin/env bash
# Installs the Debian 12 packages a make target needs, or says which are missing.
#
# usage: scripts/deps.sh build|check|bench|fuzz
# Each set lists Debian packages (never vendored code). As root, missing ones are
# installed with apt-get; otherwise the script names them and exits 1.
set -euo pipefail

build_pkgs=(gcc make libc6-dev libssl-dev libcurl4-openssl-dev libmicrohttpd-dev zlib1g-dev nodejs npm)
check_pkgs=("${build_pkgs[@]}" clang libclang-rt-14-dev python3 prometheus chromium)
bench_pkgs=("${check_pkgs[@]}" libexpat1-dev wrk)
fuzz_pkgs=("${check_pkgs[@]}")

case "${1:-}" in
  build) want=("${build_pkgs[@]}") ;;
  check) want=("${check_pkgs[@]}") ;;
  bench) want=("${bench_pkgs[@]}") ;;
  fuzz)  want=("${fuzz_pkgs[@]}") ;;
  *) echo "usage: $0 build|check|bench|fuzz" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# node may come from another source than Debian's package (e.g. nodesource's nodejs);
# a working `node` satisfies the need.
if [[ " ${missing[*]:-} " == *" nodejs "* ]] && command -v node >/dev/null 2>&1; then
  missing=("${missing[@]/nodejs}")
fi
# likewise npm (it comes with such a node)
if [[ " ${missing[*]:-} " == *" npm "* ]] && command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/npm}")
fi
read -r -a missing <<< "${missing[*]:-}"
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "xapistat needs these Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
