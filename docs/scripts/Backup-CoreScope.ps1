<#
.SYNOPSIS
    Downloads a consistent backup of a CoreScope.Analyzer database and keeps the newest N.
    With -Stored, fetches the newest backup the server keeps in its store instead, resuming a cut download.

.DESCRIPTION
    Calls GET /api/backup with the X-API-Key header, saves the file under the name the server gives it
    (corescope-backup-<unix seconds>.db or .db.gz), checks its SHA-256 against X-Backup-SHA256 with -Verify,
    and deletes older backups beyond -Keep. The file is written under a .partial name and renamed only when
    complete, so a failed run never leaves a half-written backup under a backup's name.
    With -Stored it asks GET /api/backups for the newest good stored backup and downloads its file into
    <name>.partial with Invoke-WebRequest -Resume: a run that was cut off leaves the .partial, and the next run
    asks only for the rest (Range). The SHA-256 is always checked against the manifest before the file gets its name;
    a backup already in OutDir is not downloaded again.
    Exits 0 on success; on failure prints one line saying why and exits non-zero:
    2 missing or wrong key (401), 3 refused (403), 4 busy or rate-limited (429), 5 no disk space on the server (507),
    6 network error (with -Stored, the .partial is kept to resume), 7 checksum mismatch or a damaged stored backup,
    8 no good stored backup on the server, 1 anything else.

.EXAMPLE
    ./Backup-CoreScope.ps1 -BaseUrl http://localhost:5080 -OutDir /var/backups/corescope -Keep 7 -Verify

.EXAMPLE
    ./Backup-CoreScope.ps1 -BaseUrl http://mesh-box:5080 -OutDir D:\Backups\CoreScope -Stored -Keep 30
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $BaseUrl,
    [string] $ApiKey = $env:CORESCOPE_API_KEY,
    [string] $OutDir = '.',
    [ValidateRange(0, 100000)] [int] $Keep = 0,
    [switch] $Compress,
    [switch] $Verify,
    [switch] $Stored,
    [ValidateRange(1, 86400)] [int] $TimeoutSec = 3600
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

function Stop-WithReason([int] $Code, [string] $Reason) {
    [Console]::Error.WriteLine("Backup-CoreScope: $Reason")
    exit $Code
}

if ([string]::IsNullOrWhiteSpace($ApiKey)) {
    Stop-WithReason 2 'no API key: pass -ApiKey or set CORESCOPE_API_KEY.'
}

$null = New-Item -ItemType Directory -Force -Path $OutDir
$headers = @{ 'X-API-Key' = $ApiKey }
$base = $BaseUrl.TrimEnd('/')

# Says why a request failed, in one line, and exits with the code the caller can act on.
function Stop-ForResponse($ErrorRecord, [string] $Uri) {
    $httpResponse = $ErrorRecord.Exception.Response
    if ($null -eq $httpResponse) {
        Stop-WithReason 6 "cannot reach ${Uri}: $($ErrorRecord.Exception.Message)"
    }

    $status = [int] $httpResponse.StatusCode
    $detail = ''
    try { $detail = ($ErrorRecord.ErrorDetails.Message | ConvertFrom-Json).error } catch { $detail = $ErrorRecord.ErrorDetails.Message }
    switch ($status) {
        401 { Stop-WithReason 2 "the API key was not accepted (401): $detail" }
        403 { Stop-WithReason 3 "refused (403): $detail" }
        409 { Stop-WithReason 7 "the stored backup is damaged (409): $detail" }
        429 {
            $wait = $httpResponse.Headers.RetryAfter.Delta.TotalSeconds
            Stop-WithReason 4 "too many backups (429): retry in $wait seconds. $detail"
        }
        507 { Stop-WithReason 5 "the server has too little disk space for a snapshot (507): $detail" }
        default { Stop-WithReason 1 "the server answered ${status}: $detail" }
    }
}

function Remove-Old {
    if ($Keep -gt 0) {
        Get-ChildItem -LiteralPath $OutDir -File |
            Where-Object { $_.Name -match '^corescope-backup-(\d+(-\d+)?|\d{8}T\d{6}Z-[0-9a-f]{6})\.db(\.gz)?$' } |
            Sort-Object LastWriteTimeUtc, Name -Descending |
            Select-Object -Skip $Keep |
            Remove-Item -Force
    }
}

if ($Stored) {
    $listUri = "$base/api/backups"
    try {
        $list = Invoke-RestMethod -Uri $listUri -Headers $headers -TimeoutSec $TimeoutSec
    }
    catch {
        Stop-ForResponse $_ $listUri
    }

    $newest = @($list.backups | Where-Object { $_.status -eq 'ok' }) | Select-Object -First 1
    if ($null -eq $newest) {
        Stop-WithReason 8 "the server keeps no good stored backup yet: make one with POST /api/backups or set CoreScope:Backup:Schedule."
    }

    $name = [IO.Path]::GetFileName($newest.fileName)
    $target = Join-Path $OutDir $name
    if ((Test-Path -LiteralPath $target) -and (Get-FileHash -LiteralPath $target -Algorithm SHA256).Hash -eq $newest.sha256.ToUpperInvariant()) {
        Write-Output $target
        exit 0
    }

    # The same name on every run of this backup, so a run that was cut off is resumed by the next.
    $partial = "$target.partial"
    $fileUri = "$base/api/backups/$($newest.id)/file"
    try {
        Invoke-WebRequest -Uri $fileUri -Headers $headers -OutFile $partial -Resume -TimeoutSec $TimeoutSec
    }
    catch {
        Stop-ForResponse $_ $fileUri
    }

    $actual = (Get-FileHash -LiteralPath $partial -Algorithm SHA256).Hash
    if ($actual -ne $newest.sha256.ToUpperInvariant()) {
        Remove-Item -LiteralPath $partial -Force
        Stop-WithReason 7 "checksum mismatch: the manifest says $($newest.sha256), the file is $actual; the download was deleted."
    }

    Move-Item -LiteralPath $partial -Destination $target -Force
    Remove-Old
    Write-Output $target
    exit 0
}

$query = @()
if ($Compress) { $query += 'compress=gzip' }
if ($Verify) { $query += 'verify=true' }
$uri = $base + '/api/backup' + $(if ($query) { '?' + ($query -join '&') } else { '' })
$partial = Join-Path $OutDir ('corescope-backup-' + [guid]::NewGuid().ToString('N') + '.partial')

try {
    $response = Invoke-WebRequest -Uri $uri -Headers $headers -OutFile $partial -PassThru -TimeoutSec $TimeoutSec
}
catch {
    Remove-Item -LiteralPath $partial -Force -ErrorAction SilentlyContinue
    Stop-ForResponse $_ $uri
}

$disposition = [string] $response.Headers['Content-Disposition']
$name = if ($disposition -match 'filename="?([^";]+)"?') { $Matches[1] } else { "corescope-backup-$([DateTimeOffset]::UtcNow.ToUnixTimeSeconds()).db" }
$name = [IO.Path]::GetFileName($name)

if ($Verify) {
    $expected = [string] $response.Headers['X-Backup-SHA256']
    $actual = (Get-FileHash -LiteralPath $partial -Algorithm SHA256).Hash
    if ([string]::IsNullOrEmpty($expected) -or $actual -ne $expected) {
        Remove-Item -LiteralPath $partial -Force
        Stop-WithReason 7 "checksum mismatch: the server said $expected, the file is $actual; the download was deleted."
    }
}

# Two backups within one second get the same name from the server; never overwrite an earlier one.
$target = Join-Path $OutDir $name
for ($n = 2; Test-Path -LiteralPath $target; $n++) {
    $target = Join-Path $OutDir ($name -replace '^(corescope-backup-\d+)', "`$1-$n")
}
Move-Item -LiteralPath $partial -Destination $target

Remove-Old
Write-Output $target
