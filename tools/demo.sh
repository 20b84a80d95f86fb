#!/usr/bin/env bash
# demo — what `make run` does after building: generates a demo region into
# the data directory when it is empty (Dali Bai Autonomous Prefecture, 20,000
# residents, 2020-2025: a few seconds), serves it on 127.0.0.1:8080 and prints
# the URLs and a one-screen summary. Ctrl-C stops the server cleanly.
#
#   tools/demo.sh [BIN] [DATA]     (defaults: build/jianlian var/jianlian)
#   JL_DEMO_RESIDENTS=N tools/demo.sh   a bigger or smaller demo region
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/jianlian}
DATA=${2:-var/jianlian}
PORT=${JL_PORT:-8080}
N=${JL_DEMO_RESIDENTS:-20000}
BASE="http://127.0.0.1:$PORT/fhir"

if [ ! -d "$DATA" ] || [ -z "$(ls -A "$DATA" 2>/dev/null)" ]; then
  echo "== generating the demo region into $DATA ($N residents, seed 1)"
  "$BIN" gen --region 532900 --residents "$N" --years 2020-2025 --seed 1 --into "$DATA"
fi

"$BIN" serve --host 127.0.0.1 --port "$PORT" --data "$DATA" --no-access-log --log-level warn &
SERVER=$!
stop() { kill -TERM "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; exit 0; }
trap stop INT TERM
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { echo "demo: the server did not start" >&2; exit 1; }
  sleep 0.1
done

M="$DATA/gen-truth/manifest.json"
echo
echo "================================================================================"
if [ -f "$M" ]; then
  node -e '
    const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const b = process.argv[2];
    console.log(`健联 Jianlian demo — ${m.regionName} (${m.region}), synthetic, seed ${m.seed}`);
    console.log(`  ${m.divisions.counties} counties, ${m.divisions.townships} townships, ${m.divisions.villages} villages;` +
      ` ${m.people} people (${m.births} births, ${m.deaths} deaths), years ${m.years[0]}-${m.years[1]}`);
    const c = Object.entries(m.counts).map(([k, v]) => `${k} ${v}`);
    for (let i = 0; i < c.length; i += 4) console.log("  " + c.slice(i, i + 4).map(s => s.padEnd(26)).join(""));
    console.log(`  ${m.resources} resources; ${m.duplicates} duplicate patient records, ${m.outbreaks} injected outbreaks` +
      ` (ground truth in ${process.argv[3]}/gen-truth/)`);
    console.log("");
    console.log("Try:");
    console.log(`  ${b}/metadata`);
    for (const t of ["Patient", "Organization", "Encounter", "Observation", "Immunization"])
      if (m.examples[t]) console.log(`  ${b}/${t}/${m.examples[t]}`);
    if (m.examples.Patient) {
      console.log(`  ${b}/Encounter?patient=Patient/${m.examples.Patient}&_count=5`);
      console.log(`  ${b}/Patient/${m.examples.Patient}/$everything`);
    }
    console.log(`  ${b}/Condition?code=I10&_summary=count                 (registered hypertension)`);
    console.log(`  ${b}/Observation?code=http://loinc.org|85354-9&_count=5   (blood pressure)`);
    console.log(`  ${b}/Patient?address=${encodeURIComponent("大理市")}&_summary=count`);
    console.log(`  ${b}/Patient/_history?_count=5`);
  ' "$M" "$BASE" "$DATA" || echo "  (cannot read $M)"
else
  echo "健联 Jianlian serving $DATA"
  echo "  $BASE/metadata"
fi
YEAR=$(node -e 'try{const m=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(m.years[1]-1)}catch{console.log(2024)}' "$M" 2>/dev/null || echo 2024)
REGION=$(node -e 'try{console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).region)}catch{console.log(532900)}' "$M" 2>/dev/null || echo 532900)
echo "  http://127.0.0.1:$PORT/                                    (console: indicators against targets, map, trends)"
echo "  http://127.0.0.1:$PORT/report?region=$REGION&year=$YEAR          (annual report)"
echo "  http://127.0.0.1:$PORT/monitor/indicators?region=$REGION&year=$YEAR"
echo "  http://127.0.0.1:$PORT/metrics        http://127.0.0.1:$PORT/healthz"
echo "Serving on http://127.0.0.1:$PORT (Ctrl-C to stop)"
echo "================================================================================"
wait "$SERVER"
