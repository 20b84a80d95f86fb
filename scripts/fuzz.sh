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
SRCS=$(find src -name '*.c' ! -path 'src/cli/*' ! -path 'src/gen/*' | sort)
# Seeds: small official examples (and, for the query target, typical URLs).
SEEDS="$OUT/seeds"
if [ ! -d "$SEEDS" ]; then
  mkdir -p "$SEEDS/json" "$SEEDS/query"
  find node_modules/hl7.fhir.r4.examples -name '*.json' -size -8k | sort | awk 'NR <= 400' | xargs -I{} cp {} "$SEEDS/json/"
  printf '_count=10&_since=2020-01-01T00%%3A00%%3A00Z' > "$SEEDS/query/1"
  printf 'name=%%E7%%8E%%8B&birthdate=ge1970&_sort=-date,name' > "$SEEDS/query/2"
  printf 'code=http://loinc.org|8480-6&value-quantity=gt5.4|http://unitsofmeasure.org|mg' > "$SEEDS/query/3"
fi
# Search: a type selector byte (low bits: Patient, Observation, Organization, system; bit 2: strict), then a query.
if [ ! -d "$SEEDS/search" ]; then
  mkdir -p "$SEEDS/search"
  printf '\001code=8480-6&subject:Patient.name=duan&_sort=-date&_count=3' > "$SEEDS/search/1"
  printf '\000_has:Observation:patient:code=8480-6&birthdate=ge1980&_include=Patient:organization' > "$SEEDS/search/2"
  printf '\001code-value-quantity=http://loinc.org|8480-6$gt100&date=2024&value-quantity=ap120||mm[Hg]' > "$SEEDS/search/3"
  printf '\003_type=Patient,Organization&_id=p1,o1&_lastUpdated=gt2000' > "$SEEDS/search/4"
fi
# FHIRPath: the official suite's expressions.
if [ ! -d "$SEEDS/fhirpath" ] && [ -f tests/data/fhirpath/tests.json ]; then
  mkdir -p "$SEEDS/fhirpath"
  node -e 'const fs=require("fs");JSON.parse(fs.readFileSync(process.argv[1],"utf8")).forEach((c,i)=>fs.writeFileSync(process.argv[2]+"/"+i,c.expression))' \
    tests/data/fhirpath/tests.json "$SEEDS/fhirpath"
fi
# PATCH: "document NUL patch" from the official cases (JSON Patch and FHIRPath Patch).
if [ ! -d "$SEEDS/patch" ] && [ -f tests/data/patch/json-patch-tests.json ]; then
  mkdir -p "$SEEDS/patch"
  node -e 'const fs=require("fs"),[d,o]=process.argv.slice(1);let i=0;
    for(const c of JSON.parse(fs.readFileSync(d+"/json-patch-tests.json","utf8")))fs.writeFileSync(o+"/j"+i++,JSON.stringify(c.doc)+"\0"+JSON.stringify(c.patch));
    for(const c of JSON.parse(fs.readFileSync(d+"/fhirpath-patch-tests.json","utf8")))fs.writeFileSync(o+"/f"+i++,JSON.stringify(c.input)+"\0"+JSON.stringify(c.diff));' \
    tests/data/patch "$SEEDS/patch"
fi
# Bundles: a transaction with urn:uuid and conditional references, a batch, a conditional update.
if [ ! -d "$SEEDS/bundle" ]; then
  mkdir -p "$SEEDS/bundle"
  printf '%s' '{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:0190c3a1-0000-7000-8000-000000000001","resource":{"resourceType":"Patient","identifier":[{"system":"http://x","value":"1"}]},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=http://x|1"}},{"resource":{"resourceType":"Observation","status":"final","code":{"text":"bp"},"subject":{"reference":"urn:uuid:0190c3a1-0000-7000-8000-000000000001"},"performer":[{"reference":"Patient?identifier=http://x|1"}]},"request":{"method":"POST","url":"Observation"}},{"request":{"method":"GET","url":"Patient?identifier=http://x|1"}}]}' >"$SEEDS/bundle/1"
  printf '%s' '{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Organization","name":"H"},"request":{"method":"POST","url":"Organization","ifNoneExist":"name=H"}},{"request":{"method":"DELETE","url":"Patient?identifier=http://x|1"}},{"request":{"method":"GET","url":"Patient/nope"}}]}' >"$SEEDS/bundle/2"
  printf '%s' '{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:a","resource":{"resourceType":"Patient","gender":"male"},"request":{"method":"PUT","url":"Patient?identifier=http://x|2"}},{"request":{"method":"DELETE","url":"Patient/p1"}}]}' >"$SEEDS/bundle/3"
fi
# Import readers: a format byte (0 NDJSON, 1 NDJSON.gz, 2 JSON), a resume byte, then the file.
if [ ! -d "$SEEDS/reader" ]; then
  mkdir -p "$SEEDS/reader"
  printf '\000\000{"resourceType":"Patient","id":"a"}\n\n{"resourceType":"Observation"}\r\n' >"$SEEDS/reader/1"
  printf '\002\000{"resourceType":"Bundle","type":"transaction","entry":[]}' >"$SEEDS/reader/2"
  { printf '\001\000'; printf '{"resourceType":"Patient"}\n' | gzip -c; } >"$SEEDS/reader/3"
fi
# Bulk data parameters: a selector byte (bit 0: $import body; else $export with level and handling bits), then
# the $export query string (NUL, then an optional POST body) or the $import Parameters.
if [ ! -d "$SEEDS/bulk" ]; then
  mkdir -p "$SEEDS/bulk"
  printf '\000_type=Patient,Observation&_typeFilter=Observation%%3Fcode%%3Dhttp%%3A%%2F%%2Floinc.org%%7C8480-6&_elements=Patient.name,status' >"$SEEDS/bulk/1"
  printf '\002_typeFilter=Observation%%3Fsubject%%3APatient.family%%3DDuan,Patient%%3Fgender%%3Dfemale&_since=2020-01-01T00:00:00Z' >"$SEEDS/bulk/2"
  printf '\020_typeFilter=Nope%%3Fx%%3D1,Observation%%3Fnonsense%%3D1&includeAssociatedData=LatestProvenanceResources&_elements=nope' >"$SEEDS/bulk/3"
  printf '\004_type=Observation\000{"resourceType":"Parameters","parameter":[{"name":"_typeFilter","valueString":"Observation?value-quantity=gt100&date=ge2024"}]}' >"$SEEDS/bulk/4"
  printf '%s' $'\001{"resourceType":"Parameters","parameter":[{"name":"inputFormat","valueCode":"application/fhir+ndjson"},{"name":"input","part":[{"name":"type","valueCode":"Patient"},{"name":"url","valueUri":"a.ndjson"}]},{"name":"input","part":[{"name":"url","valueUri":"."}]}]}' >"$SEEDS/bulk/5"
fi
status=0
for t in fuzz/fuzz_*.c; do
  name=$(basename "$t" .c)
  echo "== $name (${SECS}s)"
  clang $CFLAGS -o "$OUT/$name" "$t" $SRCS $LIBS
  seed="$SEEDS/json"; [ "$name" = fuzz_query ] && seed="$SEEDS/query"; [ "$name" = fuzz_search ] && seed="$SEEDS/search"
  [ "$name" = fuzz_fhirpath ] && seed="$SEEDS/fhirpath"
  [ "$name" = fuzz_bundle ] && seed="$SEEDS/bundle"
  [ "$name" = fuzz_reader ] && seed="$SEEDS/reader"
  [ "$name" = fuzz_patch ] && seed="$SEEDS/patch"
  [ "$name" = fuzz_bulk_params ] && seed="$SEEDS/bulk"
  mkdir -p "$OUT/corpus-$name"
  if ! (cd "$OUT" && ./"$name" -max_total_time="$SECS" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
        "corpus-$name" "../../$seed" 2>&1 | tail -n 12); then
    status=1
  fi
done
exit $status
