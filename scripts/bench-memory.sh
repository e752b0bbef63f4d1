#!/usr/bin/env bash
# Peak memory of apierr: a one-pass ingest of a large generated log, and the
# daemon tailing a growing file for a while (its RSS sampled every 10 s).
#
# usage: scripts/bench-memory.sh [LINES] [TAIL_SECONDS] [LINES_PER_SECOND]
#   defaults: 1000000 lines, 60 s of tailing at 2000 lines/s
#   the hour-long run: scripts/bench-memory.sh 1000000 3600 2000
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-1000000}
TAIL_SECONDS=${2:-60}
RATE=${3:-2000}

work=$(mktemp -d)
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/logs"

go build -o "$work/apierr" ./cmd/apierr
"$work/apierr" generate --lines "$LINES" > "$work/in.jsonl"
echo "== one-pass ingest: $LINES lines, $(du -m "$work/in.jsonl" | cut -f1) MB"
/usr/bin/time -f "peak RSS %M KiB, %e s wall" "$work/apierr" ingest --db "$work/ingest.db" "$work/in.jsonl"

echo "== tail: a file growing by $RATE lines/s for ${TAIL_SECONDS}s (rotated every 10 minutes)"
: > "$work/logs/app.log"
"$work/apierr" run --db "$work/run.db" "$work/logs/app.log*" 2> "$work/run.log" &
pid=$!
(
  end=$((SECONDS + TAIL_SECONDS)); seed=1
  while [ $SECONDS -lt $end ]; do
    "$work/apierr" generate --lines "$RATE" --seed "$seed" --step "$((1000000 / RATE))us" >> "$work/logs/app.log"
    seed=$((seed + 1))
    if [ $((seed % 600)) -eq 0 ]; then mv "$work/logs/app.log" "$work/logs/app.log.$seed"; : > "$work/logs/app.log"; fi
    sleep 1
  done
) &
writer=$!
samples=()
while kill -0 "$writer" 2>/dev/null; do
  sleep 10
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  samples+=("$rss")
  echo "t=${SECONDS}s rss=${rss} KiB"
done
sleep 3
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
kill -TERM "$pid"; wait "$pid" || true
sorted=$(printf '%s\n' "${samples[@]}" | sort -n)
echo "tail RSS samples (KiB): first ${samples[0]}, last ${samples[-1]}, min $(echo "$sorted" | head -1), max $(echo "$sorted" | tail -1); peak (VmHWM) $hwm KiB"
grep -E "apierr stopped" "$work/run.log" || true
