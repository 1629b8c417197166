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
        var lastModified = new DateTimeOffset(manifest.CreatedAt, TimeSpan.Zero);

        // When If-Range names something else, the whole file, 200, as if no range was asked (the request keeps its
        // Range header, which the audit line records); Accept-Ranges either way, so that download can resume later.
        var rangeAllowed = IfRangeAllowsTheRange(response.HttpContext.Request, lastModified);
        headers.AcceptRanges = "bytes";
        return new PhysicalFileResult(file.Path, manifest.Compressed ? "application/gzip" : "application/octet-stream")
        {
            FileDownloadName = manifest.FileName,
            EnableRangeProcessing = rangeAllowed,
            EntityTag = new EntityTagHeaderValue($"\"{manifest.Sha256}\""),
            LastModified = lastModified,
        };
    }

    /// <summary>
    /// RFC 9110 §13.1.5: a range is served only when If-Range is absent or names the current representation by a strong
    /// validator. An entity tag is compared by the framework, strongly. A date is left to it never, since it resumes on
    /// any date at or after Last-Modified: here only Last-Modified itself counts, and only once it is a strong validator
    /// (§8.8.2.2: at least a second before the Date of the response; a stored backup's file never changes afterwards).
    /// An If-Range that is neither is no match.
    /// </summary>
    private static bool IfRangeAllowsTheRange(HttpRequest request, DateTimeOffset lastModified)
    {
        if (!request.Headers.ContainsKey(HeaderNames.IfRange))
        {
            return true;
        }

        var condition = request.GetTypedHeaders().IfRange;
        if (condition?.EntityTag is not null)
        {
            return true;
        }

        if (condition?.LastModified is not { } date)
        {
            return false;
        }

        // HTTP-dates carry whole seconds; Kestrel's Date header is the system clock's.
        var wholeSeconds = lastModified.AddTicks(-(lastModified.Ticks % TimeSpan.TicksPerSecond));
        return date == wholeSeconds && TimeProvider.System.GetUtcNow() - wholeSeconds >= TimeSpan.FromSeconds(1);
    }
}
