#!/usr/bin/env bash
# Usage: dotnet build -c Release CoreScope.Api; DB=/tmp/bench1g/corescope-1g.db bench/stored-backup.sh ["?method=pages" | "?compress=gzip"]
# One stored backup of the 1 GiB bench database: time, and the peak bytes in the store and temp folders (polled 20x/s).
set -euo pipefail
DB=${DB:?set DB to the database, e.g. from generate --mb 1024}
WORK=${WORK:-$(mktemp -d)}
STORE=$WORK/store
TMPD=$WORK/tmp
KEY=bench-key-0123456789abcdef
PORT=5127
QUERY=${1:-}
mkdir -p "$STORE" "$TMPD"
CoreScope__Database__Path=$DB CoreScope__Backup__Store__Directory=$STORE CoreScope__ApiKey=$KEY CoreScope__Backup__TempDirectory=$TMPD \
  dotnet $(dirname "$0")/../CoreScope.Api/bin/Release/net10.0/CoreScope.Api.dll --urls http://127.0.0.1:$PORT > $WORK/server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for i in $(seq 1 100); do curl -fsS http://127.0.0.1:$PORT/api/health >/dev/null 2>&1 && break; sleep 0.2; done
before=$(du -sb "$STORE" "$TMPD" | awk '{s+=$1} END {print s}')
free_before=$(df -B1 --output=avail "$STORE" | tail -1)
peak=$before; min_free=$free_before
( while true; do
    b=$(du -sb "$STORE" "$TMPD" 2>/dev/null | awk '{s+=$1} END {print s}'); f=$(df -B1 --output=avail "$STORE" | tail -1)
    echo "$b $f"; sleep 0.05; done ) > $WORK/poll.txt &
POLL=$!
start=$(date +%s.%N)
curl -fsS -X POST -H "X-API-Key: $KEY" "http://127.0.0.1:$PORT/api/backups$QUERY" > $WORK/manifest.json
end=$(date +%s.%N)
kill $POLL; wait $POLL 2>/dev/null || true
after=$(du -sb "$STORE" "$TMPD" | awk '{s+=$1} END {print s}')
peak=$(awk -v p=$before '{ if ($1 > p) p = $1 } END { print p }' $WORK/poll.txt)
min_free=$(awk -v m=$free_before '{ if ($2 < m) m = $2 } END { print m }' $WORK/poll.txt)
id=$(grep -o '"id":"[^"]*"' $WORK/manifest.json | cut -d '"' -f 4)
echo "query='$QUERY' wall=$(echo "$end - $start" | bc) s durationMs=$(grep -o '"durationMs":[0-9]*' $WORK/manifest.json | cut -d: -f2) sizeBytes=$(grep -o '"sizeBytes":[0-9]*' $WORK/manifest.json | cut -d: -f2)"
echo "store+temp before=$before peak=$peak after=$after -> stored=$((after - before)) peakExtra=$((peak - before)) beyondStored=$((peak - after)); df drop peak (whole disk, other users too)=$((free_before - min_free))"
grep -o '"integrity":"[^"]*"' $WORK/manifest.json
# First download after a restart hashes the file: time to first byte.
kill $SERVER; wait $SERVER 2>/dev/null || true
CoreScope__Database__Path=$DB CoreScope__Backup__Store__Directory=$STORE CoreScope__ApiKey=$KEY CoreScope__Backup__TempDirectory=$TMPD \
  dotnet $(dirname "$0")/../CoreScope.Api/bin/Release/net10.0/CoreScope.Api.dll --urls http://127.0.0.1:$PORT > $WORK/server2.log 2>&1 &
SERVER=$!
for i in $(seq 1 100); do curl -fsS http://127.0.0.1:$PORT/api/health >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS -o /dev/null -w "first download after restart (hash check): ttfb=%{time_starttransfer}s total=%{time_total}s\n" -H "X-API-Key: $KEY" "http://127.0.0.1:$PORT/api/backups/$id/file"
curl -fsS -o /dev/null -w "second download (cached check): ttfb=%{time_starttransfer}s total=%{time_total}s\n" -H "X-API-Key: $KEY" "http://127.0.0.1:$PORT/api/backups/$id/file"
grep "Stored backup" $WORK/server.log | tail -1
