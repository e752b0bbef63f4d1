#!/usr/bin/env bash
# Speed of apierr on generated request logs, with the same job done by jq and
# by a plain encoding/json program side by side.
#
# usage: scripts/bench-ingest.sh [LINES] [RUNS]     (defaults: 1000000 lines, 5 runs)
# Prints medians of RUNS runs: lines/s, MB/s, peak RSS, for
#   - apierr ingest, page cache to a fresh database, 2 cores and 1 core;
#   - apierr run catching up the same file as a backlog;
#   - the tail latency: a line appended to a followed file until committed;
#   - jq and encoding/json doing the job (errors by host and code).
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-1000000}
RUNS=${2:-5}

work=$(mktemp -d)
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/apierr" ./cmd/apierr
go build -o "$work/baseline" ./scripts/baseline
"$work/apierr" generate --lines "$LINES" --seed 1 > "$work/in.jsonl"
MB=$(( $(stat -c %s "$work/in.jsonl") / 1000000 ))
cat "$work/in.jsonl" > /dev/null # into the page cache
echo "input: $LINES lines, $MB MB ($(( $(stat -c %s "$work/in.jsonl") / LINES )) bytes a line), $(nproc) cores"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# run_timed NAME CMD...: RUNS runs; prints the median seconds and peak RSS.
run_timed() {
  local name=$1; shift
  local secs=() rss=()
  for i in $(seq "$RUNS"); do
    rm -f "$work"/t.db*
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" > /dev/null 2>&1
    read -r s m < "$work/time"
    secs+=("$s"); rss+=("$m")
  done
  local s m
  s=$(printf '%s\n' "${secs[@]}" | median)
  m=$(printf '%s\n' "${rss[@]}" | median)
  printf '%-36s %6.2f s  %9.0f lines/s  %5.0f MB/s  peak RSS %4.0f MiB   (runs: %s)\n' \
    "$name" "$s" "$(echo "$LINES / $s" | bc -l)" "$(echo "$MB / $s" | bc -l)" "$(echo "$m / 1024" | bc -l)" "${secs[*]}"
}

run_timed "apierr ingest (2 cores)" "$work/apierr" ingest -q --db "$work/t.db" "$work/in.jsonl"
run_timed "apierr ingest (GOMAXPROCS=1)" env GOMAXPROCS=1 "$work/apierr" ingest -q --db "$work/t.db" "$work/in.jsonl"

# Catch-up: the daemon finds the file as a backlog; done when its debug log
# says every line is committed.
catchup=()
for i in $(seq "$RUNS"); do
  rm -rf "$work/logs" "$work"/r.db*; mkdir "$work/logs"; ln "$work/in.jsonl" "$work/logs/app.log"
  printf 'log_level: debug\nflush_interval: 100ms\nmetrics_listen: ""\nsummary: {every: 0s, to: stderr}\n' > "$work/run.yaml"
  start=$(date +%s.%N)
  "$work/apierr" run --config "$work/run.yaml" --db "$work/r.db" "$work/logs/app.log*" 2> "$work/run.log" &
  pid=$!
  until grep -q "msg=committed lines=$LINES " "$work/run.log" 2>/dev/null; do sleep 0.02; done
  end=$(date +%s.%N)
  catchup+=("$(echo "$end - $start" | bc -l)")
  if [ "$i" -eq "$RUNS" ]; then
    # Tail latency: append one line, wait for its commit.
    lat=()
    for j in 1 2 3 4 5; do
      n=$((LINES + j))
      t0=$(date +%s.%N)
      "$work/apierr" generate --lines 1 --seed "$j" >> "$work/logs/app.log"
      until grep -q "msg=committed lines=$n " "$work/run.log"; do sleep 0.005; done
      lat+=("$(echo "($(date +%s.%N) - $t0) * 1000" | bc -l)")
    done
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  fi
  kill -TERM "$pid"; wait "$pid" || true
done
s=$(printf '%s\n' "${catchup[@]}" | median)
printf '%-36s %6.2f s  %9.0f lines/s  %5.0f MB/s  peak RSS %4.0f MiB\n' "apierr run, catching up the backlog" \
  "$s" "$(echo "$LINES / $s" | bc -l)" "$(echo "$MB / $s" | bc -l)" "$(echo "$hwm / 1024" | bc -l)"
printf '%-36s %6.0f ms median (flush_interval 100 ms; runs: %s)\n' "tail latency, append to commit" \
  "$(printf '%s\n' "${lat[@]}" | median)" "$(printf '%.0f ' "${lat[@]}")"

# The same job by jq and by encoding/json, on a tenth of the lines for jq.
JQ_LINES=$(( LINES / 10 ))
head -n "$JQ_LINES" "$work/in.jsonl" > "$work/jq.jsonl"
jq_prog='select(.status >= 400 or ((.response_body|tostring)|contains("error"))) | ((.url|capture("//(?<h>[^/]+)").h) + " " + (((.response_body|fromjson? // {}) | (.key // .error_code // .code // .error.code // null)) // ("http_" + (.status|tostring)) | tostring))'
t0=$(date +%s.%N)
jq -R -r "fromjson? | $jq_prog" "$work/jq.jsonl" | sort | uniq -c > /dev/null
s=$(echo "$(date +%s.%N) - $t0" | bc -l)
printf '%-36s %6.2f s  %9.0f lines/s  (on %d lines)\n' "jq" "$s" "$(echo "$JQ_LINES / $s" | bc -l)" "$JQ_LINES"
run_timed "encoding/json (scripts/baseline)" sh -c "\"$work/baseline\" < \"$work/in.jsonl\""
