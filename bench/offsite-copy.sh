#!/usr/bin/env bash
# Usage: dotnet build -c Release CoreScope.Api; (cd tools/offsite-emulators && npm ci)
#        DB=/tmp/bench1g/corescope-1g.db bench/offsite-copy.sh s3|azureblob
# The bench database's stored backup copied to one emulator on loopback (s3rver or Azurite): the copy's time from the
# server's log, and the server's resident set sampled every 100 ms from the store's answer to the copy's log line.
# Stops only the processes it started, by PID.
set -u
target=${1:?s3 or azureblob}
DB=${DB:?set DB to the database, e.g. from generate --mb 1024}
REPO=$(cd "$(dirname "$0")/.." && pwd)
W=${WORK:-$(mktemp -d)}/$target
rm -rf "$W"; mkdir -p "$W/data" "$W/emu" "$W/tmp"
sqlite3 "$DB" ".backup $W/data/corescope.db"
free_port() { python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"; }
EP=$(free_port); SP=$(free_port)
N=$REPO/tools/offsite-emulators/node_modules
if [ "$target" = s3 ]; then
  node $N/s3rver/bin/s3rver.js --directory "$W/emu" --address 127.0.0.1 --port $EP --silent --configure-bucket corescope > "$W/emu.log" 2>&1 &
  EMU=$!
  export CoreScope__Offsite__S3__ServiceUrl=http://127.0.0.1:$EP CoreScope__Offsite__S3__Bucket=corescope CoreScope__Offsite__S3__ForcePathStyle=true \
         CoreScope__Offsite__S3__AccessKeyId=S3RVER CoreScope__Offsite__S3__SecretAccessKey=S3RVER CoreScope__Offsite__S3__Prefix=bench/
else
  node $N/azurite/dist/src/blob/main.js --blobHost 127.0.0.1 --blobPort $EP --location "$W/emu" --silent --disableTelemetry > "$W/emu.log" 2>&1 &
  EMU=$!
  CS="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$EP/devstoreaccount1;"
  sleep 3
  # The container, made with a Shared Key request (Azurite's documented development account).
  python3 - $EP <<'PY' || exit 1
import base64, hashlib, hmac, sys, urllib.request
from email.utils import formatdate
port = sys.argv[1]
account = "devstoreaccount1"
key = base64.b64decode("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
date = formatdate(usegmt=True)
version = "2021-08-06"
string_to_sign = "PUT\n\n\n\n\n\n\n\n\n\n\n\n" + f"x-ms-date:{date}\nx-ms-version:{version}\n" + f"/{account}/{account}/corescope\nrestype:container"
sig = base64.b64encode(hmac.new(key, string_to_sign.encode(), hashlib.sha256).digest()).decode()
req = urllib.request.Request(f"http://127.0.0.1:{port}/{account}/corescope?restype=container", method="PUT",
    headers={"x-ms-date": date, "x-ms-version": version, "Authorization": f"SharedKey {account}:{sig}", "Content-Length": "0"})
print(urllib.request.urlopen(req).status)
PY
  export CoreScope__Offsite__AzureBlob__ConnectionString="$CS" CoreScope__Offsite__AzureBlob__Container=corescope CoreScope__Offsite__AzureBlob__Prefix=bench/
fi
sleep 2
export ASPNETCORE_URLS=http://127.0.0.1:$SP ASPNETCORE_ENVIRONMENT=Production CoreScope__ApiKey=k3y-for-bench-0123456789abcdef \
       CoreScope__Database__Path=$W/data/corescope.db CoreScope__Backup__TempDirectory=$W/tmp CoreScope__Backup__PermitsPerMinute=0 \
       Logging__LogLevel__Default=Warning Logging__LogLevel__CoreScope=Information Logging__Console__FormatterOptions__SingleLine=true \
       Logging__Console__FormatterOptions__TimestampFormat="HH:mm:ss.fff "
dotnet $REPO/CoreScope.Api/bin/Release/net10.0/CoreScope.Api.dll > "$W/server.log" 2>&1 &
SRV=$!
for i in $(seq 1 100); do curl -fsS http://127.0.0.1:$SP/api/health >/dev/null 2>&1 && break; sleep 0.3; done
( while kill -0 $SRV 2>/dev/null; do echo "$(date +%H:%M:%S.%3N) $(awk '/VmRSS/{print $2}' /proc/$SRV/status)"; sleep 0.1; done ) > "$W/rss.log" &
SAMPLER=$!
curl -fsS -X POST -H "X-API-Key: k3y-for-bench-0123456789abcdef" "http://127.0.0.1:$SP/api/backups" > "$W/made.json"
stored=$(date +%H:%M:%S.%3N)
for i in $(seq 1 6000); do grep -q "Copied backup\|Offsite copy of backup .* failed" "$W/server.log" && break; sleep 0.1; done
copied=$(date +%H:%M:%S.%3N)
sleep 1
kill $SAMPLER 2>/dev/null; kill $SRV; wait $SRV 2>/dev/null; kill $EMU; wait $EMU 2>/dev/null
grep -E "Stored backup|Copied backup|Offsite" "$W/server.log"
python3 - "$W/rss.log" "$stored" "$copied" <<'PY'
import sys
rows=[l.split() for l in open(sys.argv[1]) if len(l.split())==2 and l.split()[1].isdigit()]
s,c=sys.argv[2].strip(),sys.argv[3].strip()
def t(x):
    h,m,r=x.split(':'); return int(h)*3600+int(m)*60+float(r)
before=[int(k) for ts,k in rows if t(ts)<=t(s)]
during=[int(k) for ts,k in rows if t(s)<=t(ts)<=t(c)]
print(f"RSS before upload (at 'Stored'): {before[-1]/1024:.1f} MB; max during upload: {max(during)/1024:.1f} MB; growth: {(max(during)-before[-1])/1024:.1f} MB; samples {len(during)}; max over whole run {max(int(k) for _,k in rows)/1024:.1f} MB")
PY
du -sh "$W/emu"
