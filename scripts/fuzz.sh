#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (ASan + UBSan) and runs
# each for FUZZ_SECONDS (default 30), seeded with the official FHIR
# examples. A crash fails the run and leaves the reproducer in build/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${FUZZ_SECONDS:-30}
OUT=build/fuzz
mkdir -p "$OUT"
CFLAGS="-std=c17 -D_GNU_SOURCE -O1 -g -Isrc -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $(pkg-config --cflags libmicrohttpd sqlite3 zlib libzstd libutf8proc)"
LIBS="$(pkg-config --libs libmicrohttpd sqlite3 zlib libzstd libutf8proc) -lm -pthread"
SRCS=$(find src/base src/fhir src/rest -name '*.c' ! -name 'server.c' | sort)
# Seeds: small official examples (and, for the query target, typical URLs).
SEEDS="$OUT/seeds"
if [ ! -d "$SEEDS" ]; then
  mkdir -p "$SEEDS/json" "$SEEDS/query"
  find node_modules/hl7.fhir.r4.examples -name '*.json' -size -8k | sort | awk 'NR <= 400' | xargs -I{} cp {} "$SEEDS/json/"
  printf '_count=10&_since=2020-01-01T00%%3A00%%3A00Z' > "$SEEDS/query/1"
  printf 'name=%%E7%%8E%%8B&birthdate=ge1970&_sort=-date,name' > "$SEEDS/query/2"
  printf 'code=http://loinc.org|8480-6&value-quantity=gt5.4|http://unitsofmeasure.org|mg' > "$SEEDS/query/3"
fi
status=0
for t in fuzz/fuzz_*.c; do
  name=$(basename "$t" .c)
  echo "== $name (${SECS}s)"
  clang $CFLAGS -o "$OUT/$name" "$t" $SRCS $LIBS
  seed="$SEEDS/json"; [ "$name" = fuzz_query ] && seed="$SEEDS/query"
  mkdir -p "$OUT/corpus-$name"
  if ! (cd "$OUT" && ./"$name" -max_total_time="$SECS" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
        "corpus-$name" "../../$seed" 2>&1 | tail -n 12); then
    status=1
  fi
done
exit $status
