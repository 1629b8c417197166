#!/usr/bin/env bash
# Times GET /api/backup and then POST /api/admin/restore of that backup on a copy of a bench database, on the Release
# server as a process of its own, and samples the disk used beside the database and in the temp folder every 100 ms.
#   dotnet build -c Release
#   dotnet bench/CoreScope.Bench/bin/Release/net10.0/CoreScope.Bench.dll generate --mb 1024 --out /tmp/bench1g/corescope-1g.db
#   bash bench/measure-restore.sh /tmp/bench1g/corescope-1g.db /tmp/restore-bench [Full|Quick]
set -euo pipefail
source_db=$1
work=$2
check=${3:-Full}
dll=$(cd "$(dirname "$0")/.." && pwd)/CoreScope.Api/bin/Release/net10.0/CoreScope.Api.dll
port=5699
key=bench-key-0123456789abcdef0123

rm -rf "$work"
mkdir -p "$work/db" "$work/tmp" "$work/download"
cp "$source_db" "$work/db/corescope.db"
sync

CoreScope__ApiKey=$key CoreScope__Database__Path="$work/db/corescope.db" CoreScope__Backup__TempDirectory="$work/tmp" \
CoreScope__Backup__PermitsPerMinute=0 CoreScope__Restore__IntegrityCheck=$check ASPNETCORE_URLS=http://127.0.0.1:$port \
Logging__LogLevel__Default=Warning Logging__LogLevel__CoreScope=Information Logging__Console__FormatterName=simple \
Logging__Console__FormatterOptions__SingleLine=true Logging__Console__FormatterOptions__TimestampFormat="HH:mm:ss.fff " \
  dotnet "$dll" > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do curl -fs "http://127.0.0.1:$port/api/health" > /dev/null && break; sleep 1; done

sync
/usr/bin/time -f "backup: %e s" curl -fsS -H "X-API-Key: $key" -o "$work/download/backup.db" "http://127.0.0.1:$port/api/backup"

# The disk used by the database's folder (live file, WAL, safety copies) and the temp folder (staging), at its peak.
( base=$(du -sb "$work/db" "$work/tmp" | awk '{ s += $1 } END { print s }'); peak=$base
  while kill -0 $server 2> /dev/null && [ ! -f "$work/done" ]; do
    now=$(du -sb "$work/db" "$work/tmp" 2> /dev/null | awk '{ s += $1 } END { print s }')
    peak=$(awk -v a="$now" -v b="$peak" 'BEGIN { printf "%.0f", (a > b ? a : b) }')
    echo "$base $peak" > "$work/disk"
    sleep 0.1
  done ) &
sampler=$!

sync
/usr/bin/time -f "restore: %e s" curl -fsS -X POST -H "X-API-Key: $key" -H "Content-Type: application/octet-stream" \
  -T "$work/download/backup.db" "http://127.0.0.1:$port/api/admin/restore"
echo
touch "$work/done"
wait $sampler
read -r base peak < "$work/disk"
echo "disk before: $base bytes; peak: $peak bytes; peak extra: $((peak - base)) bytes"
grep -a "Restore \|Safety copy" "$work/server.log"
