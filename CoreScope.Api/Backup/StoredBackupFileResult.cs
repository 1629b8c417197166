using CoreScope.Data.Store;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;

namespace CoreScope.Api.Backup;

/// <summary>
/// Serves a stored backup's file with the framework's <see cref="PhysicalFileResult"/>, which does the HTTP of resuming
/// by the RFCs: <c>Range</c> (206, 416 with <c>Content-Range: bytes */size</c> past the end), <c>If-Range</c>,
/// <c>If-None-Match</c> (304) and <c>If-Match</c> against a strong <c>ETag</c>, the file's SHA-256. Its smaller copies
/// send 1 GB in 1.3 s against 0.9 s for the snapshot download's own result (docs/benchmarks.md); a stored file is
/// sent many times and resumed, so correctness of ranges was worth more than that 0.4 s.
/// </summary>
public static class StoredBackupFileResult
{
    public static PhysicalFileResult Create(HttpResponse response, StoredBackupFile file)
    {
        var manifest = file.Manifest;
        var headers = response.Headers;

        // RFC 9530's digest of the whole file (also on a 206: it describes the representation, not the part), and
        // the hex that PowerShell's Get-FileHash prints.
        headers["Repr-Digest"] = $"sha-256=:{Convert.ToBase64String(Convert.FromHexString(manifest.Sha256))}:";
        headers["X-Backup-SHA256"] = manifest.Sha256.ToUpperInvariant();
        headers["X-Backup-Id"] = manifest.Id;
        headers.XContentTypeOptions = "nosniff";
        headers.CacheControl = "private, no-cache";
        return new PhysicalFileResult(file.Path, manifest.Compressed ? "application/gzip" : "application/octet-stream")
        {
            FileDownloadName = manifest.FileName,
            EnableRangeProcessing = true,
            EntityTag = new EntityTagHeaderValue($"\"{manifest.Sha256}\""),
            LastModified = new DateTimeOffset(manifest.CreatedAt, TimeSpan.Zero),
        };
    }
}
