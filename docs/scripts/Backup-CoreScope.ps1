<#
.SYNOPSIS
    Downloads a consistent backup of a CoreScope.Analyzer database and keeps the newest N.

.DESCRIPTION
    Calls GET /api/backup with the X-API-Key header, saves the file under the name the server gives it
    (corescope-backup-<unix seconds>.db or .db.gz), checks its SHA-256 against X-Backup-SHA256 with -Verify,
    and deletes older backups beyond -Keep. The file is written under a .partial name and renamed only when
    complete, so a failed run never leaves a half-written backup under a backup's name.
    Exits 0 on success; on failure prints one line saying why and exits non-zero:
    2 missing or wrong key (401), 3 refused (403), 4 busy or rate-limited (429), 5 no disk space on the server (507),
    6 network error, 7 checksum mismatch, 1 anything else.

.EXAMPLE
    ./Backup-CoreScope.ps1 -BaseUrl http://localhost:5080 -OutDir /var/backups/corescope -Keep 7 -Verify
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $BaseUrl,
    [string] $ApiKey = $env:CORESCOPE_API_KEY,
    [string] $OutDir = '.',
    [ValidateRange(0, 100000)] [int] $Keep = 0,
    [switch] $Compress,
    [switch] $Verify,
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
$query = @()
if ($Compress) { $query += 'compress=gzip' }
if ($Verify) { $query += 'verify=true' }
$uri = $BaseUrl.TrimEnd('/') + '/api/backup' + $(if ($query) { '?' + ($query -join '&') } else { '' })
$partial = Join-Path $OutDir ('corescope-backup-' + [guid]::NewGuid().ToString('N') + '.partial')

try {
    $response = Invoke-WebRequest -Uri $uri -Headers @{ 'X-API-Key' = $ApiKey } -OutFile $partial -PassThru -TimeoutSec $TimeoutSec
}
catch {
    Remove-Item -LiteralPath $partial -Force -ErrorAction SilentlyContinue
    $httpResponse = $_.Exception.Response
    if ($null -eq $httpResponse) {
        Stop-WithReason 6 "cannot reach ${uri}: $($_.Exception.Message)"
    }

    $status = [int] $httpResponse.StatusCode
    $detail = ''
    try { $detail = ($_.ErrorDetails.Message | ConvertFrom-Json).error } catch { $detail = $_.ErrorDetails.Message }
    switch ($status) {
        401 { Stop-WithReason 2 "the API key was not accepted (401): $detail" }
        403 { Stop-WithReason 3 "refused (403): $detail" }
        429 {
            $wait = $httpResponse.Headers.RetryAfter.Delta.TotalSeconds
            Stop-WithReason 4 "too many backups (429): retry in $wait seconds. $detail"
        }
        507 { Stop-WithReason 5 "the server has too little disk space for a snapshot (507): $detail" }
        default { Stop-WithReason 1 "the server answered ${status}: $detail" }
    }
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

if ($Keep -gt 0) {
    Get-ChildItem -LiteralPath $OutDir -File |
        Where-Object { $_.Name -match '^corescope-backup-\d+(-\d+)?\.db(\.gz)?$' } |
        Sort-Object LastWriteTimeUtc, Name -Descending |
        Select-Object -Skip $Keep |
        Remove-Item -Force
}

Write-Output $target
