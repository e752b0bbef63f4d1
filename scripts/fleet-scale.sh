#!/usr/bin/env bash
# Scale of the fleet report: a simulated fleet's counters (HOSTS hosts,
# HOURS hours at one scrape every INTERVAL, each host with 5 vendors x 12
# codes, the latency histogram, malformed and skipped reasons) loaded into
# Prometheus (promtool tsdb create-blocks-from openmetrics) and
# VictoriaMetrics (its import API), then `apierr report --prometheus` over
# the HOURS they hold, from each.
#
# usage: scripts/fleet-scale.sh [HOSTS] [HOURS] [INTERVAL]   (defaults: 100 24 15s)
# Prints, per engine: series, samples, the time of the report (--format
# json) and of the report --by host, each cold (the engine just started)
# and warm (run again), with the load average, the report's totals, and
# the engine's peak memory. The window is --from/--to over the HOURS the
# engines hold, the read --since HOURS makes when they end now.
# Needs prometheus, promtool and victoria-metrics on PATH; writes the
# simulated counters (several GB at the defaults) to a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
HOSTS=${1:-100}
HOURS=${2:-24}
INTERVAL=${3:-15s}

work=$(mktemp -d)
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/fleetscale" ./scripts/fleetscale
go build -o "$work/apierr" ./cmd/apierr
END=$(( $(date +%s) / 60 * 60 - 60 ))
FROM=$(date -u -d "@$(( END - HOURS * 3600 ))" +%Y-%m-%dT%H:%M:%SZ)
TO=$(date -u -d "@$END" +%Y-%m-%dT%H:%M:%SZ)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
peak() { awk '/VmHWM/ {print int($2/1024)}' "/proc/$1/status"; }
waitfor() { for _ in $(seq 600); do curl -fs "$1" >/dev/null 2>&1 && return; sleep 0.5; done; echo "not ready: $1" >&2; exit 1; }
# report NAME URL [ARGS]: times apierr report --prometheus URL over the window.
report() {
  local name=$1 url=$2; shift 2
  local load; load=$(cut -d' ' -f1-3 /proc/loadavg)
  /usr/bin/time -f "%e" -o "$work/time" "$work/apierr" report --prometheus "$url" --timeout 5m \
    --from "$FROM" --to "$TO" --format json --top 0 "$@" > "$work/report.json"
  python3 - "$name" "$(cat "$work/time")" "$load" "$work/report.json" <<'EOF'
import json, sys
name, took, load, path = sys.argv[1:]
r = json.load(open(path))
t = r["totals"]
print(f"{name}: {took} s (load {load}): {len(r['hosts'])} hosts, {t['requests']} requests, "
      f"{t['errors']} errors, {len(r['failures'])} failure groups, {len(r.get('groups') or [])} host groups")
EOF
}

echo "fleet: $HOSTS hosts, $HOURS h at $INTERVAL, $(nproc) cores, window $FROM to $TO"
"$work/fleetscale" gen -hosts "$HOSTS" -hours "$HOURS" -interval "$INTERVAL" -end "$END" -format openmetrics > "$work/fleet.om"
echo "($(du -m "$work/fleet.om" | cut -f1) MB of OpenMetrics text)"

echo "== prometheus"
mkdir -p "$work/prom"
/usr/bin/time -f "create-blocks: %e s, peak RSS %M KiB" promtool tsdb create-blocks-from openmetrics "$work/fleet.om" "$work/prom" >/dev/null
rm -f "$work/fleet.om"
printf 'global:\n  scrape_interval: 1h\n' > "$work/prom.yml"
p=$(port)
ppeak=0
prom() {
  prometheus --config.file="$work/prom.yml" --storage.tsdb.path="$work/prom" --storage.tsdb.retention.time=10y \
    --web.listen-address=127.0.0.1:$p --log.level=warn & ppid=$!
  waitfor "http://127.0.0.1:$p/-/ready"
}
stop() { local m; m=$(peak "$1"); [ "$m" -gt "$ppeak" ] && ppeak=$m; kill "$1"; wait "$1" 2>/dev/null || true; }
prom
report "report, cold" "http://127.0.0.1:$p"
report "report, warm" "http://127.0.0.1:$p"
stop $ppid
prom
report "--by host, cold" "http://127.0.0.1:$p" --by host
report "--by host, warm" "http://127.0.0.1:$p" --by host
stop $ppid
echo "prometheus peak memory: $ppeak MiB"

echo "== victoria-metrics"
v=$(port)
ppeak=0
vm() {
  victoria-metrics -httpListenAddr=127.0.0.1:$v -storageDataPath="$work/vm" -retentionPeriod=100y -loggerLevel=ERROR -search.disableCache & vpid=$!
  waitfor "http://127.0.0.1:$v/health"
}
vm
"$work/fleetscale" gen -hosts "$HOSTS" -hours "$HOURS" -interval "$INTERVAL" -end "$END" -format prometheus 2>/dev/null > "$work/fleet.prom"
/usr/bin/time -f "import: %e s" curl -fs -X POST -T "$work/fleet.prom" "http://127.0.0.1:$v/api/v1/import/prometheus"
rm -f "$work/fleet.prom"
curl -fs "http://127.0.0.1:$v/internal/force_flush" >/dev/null || true
sleep 2
stop $vpid
echo "victoria-metrics peak memory (import): $ppeak MiB"
ppeak=0
vm
report "report, cold" "http://127.0.0.1:$v"
report "report, warm" "http://127.0.0.1:$v"
stop $vpid
vm
report "--by host, cold" "http://127.0.0.1:$v" --by host
report "--by host, warm" "http://127.0.0.1:$v" --by host
stop $vpid
echo "victoria-metrics peak memory (reports only): $ppeak MiB"
