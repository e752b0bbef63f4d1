#!/usr/bin/env bash
# Speed of apierr ingest against a minimal fastjson program doing far less
# (scripts/baseline: parse each line, count errors by host and code), on
# three traffic mixes, side by side in one run, all made by `apierr
# generate` (for 1,000,000 lines):
#   default  its defaults: 1 line every 10 ms (2.8 hours), one path a
#            vendor: 2,224 error groups, 86,406 minute-bucket rows;
#   diverse  --span 5h: the same lines over 5 hours: 2,224 (vendor, code,
#            endpoint) groups, 111,380 minute-bucket rows;
#   wide     --span 5h --endpoints 8: eight paths a vendor: 13,928 groups,
#            234,765 minute-bucket rows;
# and then container logs: the diverse mix's lines as Docker's json-file
# driver and as CRI (containerd, CRI-O) write them (--runtime), each
# against the same lines plain.
# Runs are interleaved (apierr, baseline, apierr with GOMAXPROCS=1, in
# turn), so that load from others on a shared machine falls on all of
# them alike; the ratio apierr/baseline in one run is the figure that
# carries between machines, not the seconds.
#
# usage: scripts/bench-ingest.sh [LINES] [RUNS] [MIXES]
#        (defaults: 1000000 lines, 5 runs, "default diverse wide containers")
# Prints medians of RUNS runs: seconds, lines/s, peak RSS, and the ratio
# to the baseline (below 1: apierr is faster); then `apierr run` catching
# up the same file as a backlog, its ratio to ingest, and the tail latency.
# Set PROFILE=DIR to keep a CPU profile of one ingest run of each mix.
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-1000000}
RUNS=${2:-5}
MIXES=${3:-default diverse wide containers}

work=$(mktemp -d)
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/apierr" ./cmd/apierr
go build -o "$work/baseline" ./scripts/baseline

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "$(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $LINES lines, $RUNS runs, medians"

# timed FILE CMD...: runs CMD, appends "seconds peakKiB" to FILE.
timed() {
  local out=$1; shift
  rm -f "$work"/t.db*
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > /dev/null 2>&1
  cat "$work/time" >> "$out"
}

# report NAME FILE [BASE]: the median seconds, lines/s, peak RSS, and the
# ratio to BASE's median.
report() {
  local s m r=""
  s=$(cut -d' ' -f1 "$2" | median)
  m=$(cut -d' ' -f2 "$2" | median)
  if [ -n "${3:-}" ]; then
    r=$(printf 'ratio %.2f' "$(echo "$s / $(cut -d' ' -f1 "$3" | median)" | bc -l)")
  fi
  printf '  %-34s %6.2f s %9.0f lines/s  peak RSS %4.0f MiB  %s  (runs: %s)\n' "$1" "$s" \
    "$(echo "$LINES / $s" | bc -l)" "$(echo "$m / 1024" | bc -l)" "$r" "$(cut -d' ' -f1 "$2" | tr '\n' ' ')"
}

for mix in $MIXES; do
  if [ "$mix" = containers ]; then
    # The same inner lines plain, as Docker writes them and as CRI does,
    # in turn; the ratio is to the plain lines.
    for rt in plain docker cri; do
      flags=(--span 5h)
      [ "$rt" = plain ] || flags+=(--runtime "$rt")
      "$work/apierr" generate --lines "$LINES" --seed 1 --start 2026-11-20T00:00:00Z "${flags[@]}" > "$work/$rt.log"
      cat "$work/$rt.log" > /dev/null
      rm -f "$work/c-$rt"
    done
    for i in $(seq "$RUNS"); do
      for rt in plain docker cri; do
        timed "$work/c-$rt" "$work/apierr" ingest -q --db "$work/t.db" "$work/$rt.log"
      done
    done
    echo "containers: the diverse mix's $LINES lines, plain and framed"
    report "apierr ingest, plain lines" "$work/c-plain"
    report "apierr ingest, Docker json-file" "$work/c-docker" "$work/c-plain"
    report "apierr ingest, CRI" "$work/c-cri" "$work/c-plain"
    rm -f "$work"/{plain,docker,cri}.log
    continue
  fi
  case $mix in
  default) flags=() ;;
  diverse) flags=(--span 5h) ;;
  wide) flags=(--span 5h --endpoints 8) ;;
  *) echo "unknown mix $mix" >&2; exit 2 ;;
  esac
  "$work/apierr" generate --lines "$LINES" --seed 1 --start 2026-11-20T00:00:00Z "${flags[@]}" > "$work/in.jsonl"
  size=$(stat -c %s "$work/in.jsonl")
  cat "$work/in.jsonl" > /dev/null # into the page cache
  rm -f "$work"/{ingest,base,one}
  for i in $(seq "$RUNS"); do
    timed "$work/ingest" "$work/apierr" ingest -q --db "$work/t.db" "$work/in.jsonl"
    timed "$work/base" sh -c "exec \"$work/baseline\" < \"$work/in.jsonl\""
    timed "$work/one" env GOMAXPROCS=1 "$work/apierr" ingest -q --db "$work/t.db" "$work/in.jsonl"
  done
  if [ -n "${PROFILE:-}" ]; then
    rm -f "$work"/t.db*
    "$work/apierr" ingest -q --db "$work/t.db" --cpuprofile "$PROFILE/$mix.prof" "$work/in.jsonl"
    cp "$work/apierr" "$PROFILE/apierr"
  fi
  rm -f "$work"/t.db*
  "$work/apierr" ingest -q --db "$work/t.db" "$work/in.jsonl"
  rows=$(sqlite3 "$work/t.db" "SELECT (SELECT COUNT(*) FROM error_groups) || ' error groups, ' || ((SELECT COUNT(*) FROM error_counts) + (SELECT COUNT(*) FROM request_counts) + (SELECT COUNT(*) FROM endpoint_minutes)) || ' minute rows'" 2>/dev/null || echo "?")
  echo "$mix: $LINES lines, $((size / 1000000)) MB ($((size / LINES)) bytes a line), $rows"
  report "fastjson baseline (scripts/baseline)" "$work/base"
  report "apierr ingest ($(nproc) cores)" "$work/ingest" "$work/base"
  report "apierr ingest (GOMAXPROCS=1)" "$work/one" "$work/base"
  printf '  GOMAXPROCS=1 runs at %.0f%% of the %d-core speed\n' \
    "$(echo "100 * $(cut -d' ' -f1 "$work/ingest" | median) / $(cut -d' ' -f1 "$work/one" | median)" | bc -l)" "$(nproc)"

  # Catch-up: the daemon finds the file as a backlog; done when its debug
  # log says every line is committed. The log is watched with tail -f
  # (inotify), not polled: a grep started every few milliseconds takes CPU
  # from the daemon it times.
  rm -f "$work/catchup"
  for i in $(seq "$RUNS"); do
    rm -rf "$work/logs" "$work"/r.db*; mkdir "$work/logs"; ln "$work/in.jsonl" "$work/logs/app.log"
    printf 'log_level: debug\nflush_interval: 100ms\nmetrics_listen: ""\nsummary: {every: 0s, to: stderr}\n' > "$work/run.yaml"
    start=$(date +%s.%N)
    "$work/apierr" run --config "$work/run.yaml" --db "$work/r.db" "$work/logs/app.log*" 2> "$work/run.log" &
    pid=$!
    timeout 600 tail -n +1 -f "$work/run.log" | grep -a -m1 -q "msg=committed lines=$LINES " || true
    end=$(date +%s.%N)
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    echo "$(echo "$end - $start" | bc -l) $hwm" >> "$work/catchup"
    if [ "$i" -eq "$RUNS" ]; then
      # Tail latency: append one line, wait for its commit.
      lat=()
      for j in 1 2 3 4 5; do
        n=$((LINES + j))
        (timeout 60 tail -n 0 -f "$work/run.log" | grep -a -m1 -q "msg=committed lines=$n " || true) &
        waiter=$!
        sleep 0.3 # tail is watching
        t0=$(date +%s.%N)
        "$work/apierr" generate --lines 1 --seed "$j" >> "$work/logs/app.log"
        wait "$waiter"
        lat+=("$(echo "($(date +%s.%N) - $t0) * 1000" | bc -l)")
      done
    fi
    kill -TERM "$pid"; wait "$pid" || true
  done
  report "apierr run, catching up" "$work/catchup" "$work/ingest"
  printf '  %-34s %6.0f ms median (flush_interval 100 ms; runs: %s)\n' "tail latency, append to commit" \
    "$(printf '%s\n' "${lat[@]}" | median)" "$(printf '%.0f ' "${lat[@]}")"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
