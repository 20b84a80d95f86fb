#!/usr/bin/env bash
# Installs what the build, the tests and the benchmarks need on Debian 12:
# only the packages that are missing, so a second run does nothing. Works as
# root or through sudo. Node packages (test clients, the official FHIR
# examples) come from package-lock.json with `npm ci`, again only when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
  build-essential pkg-config
  libmicrohttpd-dev libsqlite3-dev sqlite3 zlib1g-dev libzstd-dev libutf8proc-dev
  libcmocka-dev
  clang libclang-rt-14-dev      # libFuzzer and sanitizer runtimes
  wrk hyperfine curl            # benchmarks and smoke tests
  chromium fonts-noto-cjk      # console tests (playwright-core) and the report's PDF
  libjson-c-dev libcjson-dev libyajl-dev libjsmn-dev   # JSON comparison in the benchmarks
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages: install when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
