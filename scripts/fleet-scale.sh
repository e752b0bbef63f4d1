#!/usr/bin/env bash
# Scale of the fleet report: a simulated fleet's counters (HOSTS hosts,
# HOURS hours at one scrape every INTERVAL, each host with 5 vendors x 12
# codes, the latency histogram, malformed and skipped reasons) loaded into
# Prometheus (promtool tsdb create-blocks-from openmetrics) and
# VictoriaMetrics (its import API), then the fleet report read from each.
#
# usage: scripts/fleet-scale.sh [HOSTS] [HOURS] [INTERVAL]   (defaults: 100 24 15s)
# Prints, per engine: series, samples, the time of the report over the last
# HOURS (the same read serves --by host) and the engine's peak memory.
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
END=$(( $(date +%s) / 60 * 60 - 60 ))
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
peak() { awk '/VmHWM/ {print int($2/1024) " MiB"}' "/proc/$1/status"; }
waitfor() { for _ in $(seq 600); do curl -fs "$1" >/dev/null 2>&1 && return; sleep 0.5; done; echo "not ready: $1" >&2; exit 1; }

echo "fleet: $HOSTS hosts, $HOURS h at $INTERVAL, $(nproc) cores"
"$work/fleetscale" gen -hosts "$HOSTS" -hours "$HOURS" -interval "$INTERVAL" -end "$END" -format openmetrics > "$work/fleet.om"
echo "($(du -m "$work/fleet.om" | cut -f1) MB of OpenMetrics text)"

echo "== prometheus"
mkdir -p "$work/prom"
/usr/bin/time -f "create-blocks: %e s, peak RSS %M KiB" promtool tsdb create-blocks-from openmetrics "$work/fleet.om" "$work/prom" >/dev/null
printf 'global:\n  scrape_interval: 1h\n' > "$work/prom.yml"
p=$(port)
prometheus --config.file="$work/prom.yml" --storage.tsdb.path="$work/prom" --storage.tsdb.retention.time=10y \
  --web.listen-address=127.0.0.1:$p --log.level=warn & ppid=$!
waitfor "http://127.0.0.1:$p/-/ready"
"$work/fleetscale" read -url "http://127.0.0.1:$p" -hours "$HOURS" -end "$END"
FLEETSCALE_TRACE=${FLEETSCALE_TRACE:-} "$work/fleetscale" read -url "http://127.0.0.1:$p" -hours "$HOURS" -end "$END"
echo "prometheus peak memory: $(peak $ppid)"
kill $ppid; wait $ppid 2>/dev/null || true
rm -f "$work/fleet.om"

echo "== victoria-metrics"
v=$(port)
victoria-metrics -httpListenAddr=127.0.0.1:$v -storageDataPath="$work/vm" -retentionPeriod=100y -loggerLevel=ERROR -search.disableCache & vpid=$!
waitfor "http://127.0.0.1:$v/health"
"$work/fleetscale" gen -hosts "$HOSTS" -hours "$HOURS" -interval "$INTERVAL" -end "$END" -format prometheus 2>/dev/null > "$work/fleet.prom"
/usr/bin/time -f "import: %e s" curl -fs -X POST -T "$work/fleet.prom" "http://127.0.0.1:$v/api/v1/import/prometheus"
rm -f "$work/fleet.prom"
curl -fs "http://127.0.0.1:$v/internal/force_flush" >/dev/null || true
sleep 2
"$work/fleetscale" read -url "http://127.0.0.1:$v" -hours "$HOURS" -end "$END"
"$work/fleetscale" read -url "http://127.0.0.1:$v" -hours "$HOURS" -end "$END"
echo "victoria-metrics peak memory: $(peak $vpid)"
