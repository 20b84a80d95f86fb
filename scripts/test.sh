#!/usr/bin/env bash
# Runs the test suite against the binaries in BUILD (build or build/san).
#   scripts/test.sh BUILD          every stage
#   scripts/test.sh BUILD STAGE    one stage: unit (with source checks) | http | conformance | crash | bench
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ONLY=${2:-}
export JL_BIN="$PWD/$BUILD/jianlian"
export JL_BUILD="$PWD/$BUILD"
failed=()

stage() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }

if stage unit; then
  echo "== source checks"
  scripts/check-src.sh || failed+=("check-src")

  echo "== unit tests ($BUILD)"
  while IFS= read -r t; do
    if ! "$t"; then failed+=("$t"); fi
  done < <(find "$BUILD/tests" -type f -perm -u+x -name 'test_*' | sort)
fi

if stage http && [ -d tests/http ] && ls tests/http/*.test.mjs >/dev/null 2>&1; then
  echo "== HTTP black-box tests"
  node --test --test-concurrency=1 tests/http/ || failed+=("http")
fi

if stage conformance && [ -f tests/conformance/examples.mjs ]; then
  echo "== conformance: official R4 examples"
  node tests/conformance/examples.mjs || failed+=("conformance")
fi

if stage crash && [ -f tests/crash/crash.mjs ]; then
  echo "== crash safety: kill -9 during concurrent writes"
  node tests/crash/crash.mjs || failed+=("crash")
fi

if stage bench && [ "$BUILD" = build ] && [ -x scripts/bench.sh ]; then
  echo "== benchmarks (small size)"
  BENCH_SIZE=small scripts/bench.sh "$BUILD" || failed+=("bench")
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all tests passed ($BUILD)"
