using CoreScope.Api.Backup;
using CoreScope.Data;
using CoreScope.Data.Backup;
using CoreScope.Data.Store;
using CoreScope.Data.Connections;
using CoreScope.Data.Offsite;
using CoreScope.Data.Restore;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;

namespace CoreScope.Api.Infrastructure;

/// <summary>
/// Turns the exceptions our services throw into ProblemDetails with the right status, in one place, so
/// controllers stay free of try/catch and every error body has the same shape.
/// </summary>
public sealed class ProblemDetailsExceptionHandler(
    IProblemDetailsService problemDetailsService,
    ILogger<ProblemDetailsExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (httpContext.Response.HasStarted)
        {
            return false;
        }

        var retryAfter = exception switch
        {
            BackupBusyException busy => busy.RetryAfter,
            RestoreFailedException { RetryAfter: { } restoreWait } => restoreWait,
            DatabaseBusyException busy => busy.RetryAfter,
            BackupRateLimitedException limited => limited.RetryAfter,
            _ => (TimeSpan?)null,
        };
        if (retryAfter is { } wait)
        {
            httpContext.Response.Headers.RetryAfter = RetryAfter.ToSeconds(wait).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var (status, title, detail) = exception switch
        {
            BackupRateLimitedException e =>
                (StatusCodes.Status429TooManyRequests, "Too many backup requests", e.Message),
            BackupBusyException e =>
                (StatusCodes.Status429TooManyRequests, "A backup is already running", e.Message),
            BackupFailedException { Failure: BackupFailure.InsufficientStorage } e =>
                (StatusCodes.Status507InsufficientStorage, "Insufficient storage for the backup", e.Message),
            BackupFailedException { Failure: BackupFailure.DatabaseUnreadable } e =>
                (StatusCodes.Status500InternalServerError, "The database could not be read", e.Message),
            BackupFailedException { Failure: BackupFailure.VerificationFailed } e =>
                (StatusCodes.Status500InternalServerError, "The snapshot failed verification", e.Message),
            BackupFailedException e =>
                (StatusCodes.Status500InternalServerError, "The backup failed", e.Message),
            StoredBackupNotFoundException e =>
                (StatusCodes.Status404NotFound, "No such stored backup", e.Message),
            StoredBackupDamagedException e =>
                (StatusCodes.Status409Conflict, "The stored backup is damaged", e.Message),
            BackupLinkRefusedException e =>
                (StatusCodes.Status403Forbidden, "Download link refused", e.Message),
            RestoreFailedException e => RestoreStatus(e),
            OffsiteNotConfiguredException e =>
                (StatusCodes.Status400BadRequest, "No such offsite target", e.Message),
            OffsiteBackupNotFoundException e =>
                (StatusCodes.Status404NotFound, "No such offsite backup", e.Message),
            OffsiteTargetException e =>
                (StatusCodes.Status502BadGateway, "The offsite target failed", e.Message),
            OffsiteCopyFailedException e =>
                (StatusCodes.Status502BadGateway, "The offsite copy failed", e.Message),
            DatabaseBusyException e =>
                (StatusCodes.Status503ServiceUnavailable, "The database is being restored", e.Message),
            DatabaseUnavailableException e =>
                (StatusCodes.Status503ServiceUnavailable, "The database is unavailable", e.Message),
            InvalidInputException e =>
                (StatusCodes.Status400BadRequest, "Bad request", e.Message),
            // Kestrel's own refusals (413 body too large, 408 body too slow, 400 malformed) keep their status and its name.
            BadHttpRequestException e =>
                (e.StatusCode, ReasonPhrases.GetReasonPhrase(e.StatusCode), e.Message),
            _ => (StatusCodes.Status500InternalServerError, "Internal server error",
                "The server failed to handle the request; the log has the details."),
        };

        // 507, 503 and 502 are states the operator was told about where they arose (the disk check, the writer, the
        // offsite target's answer in the uploader's log), not bugs.
        if (status >= 500 && status is not (StatusCodes.Status507InsufficientStorage or StatusCodes.Status503ServiceUnavailable or StatusCodes.Status502BadGateway))
        {
            logger.LogError(exception, "{Method} {Route} failed with {Status}", httpContext.Request.Method, RequestRoute.TemplateOf(httpContext), status);
        }

        httpContext.Response.StatusCode = status;
        return await problemDetailsService.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }

    private static (int Status, string Title, string Detail) RestoreStatus(RestoreFailedException exception) => exception.Failure switch
    {
        RestoreFailure.Empty or RestoreFailure.BadRequest => (StatusCodes.Status400BadRequest, "Bad restore request", exception.Message),
        RestoreFailure.DigestMismatch => (StatusCodes.Status400BadRequest, "The upload does not match its digest", exception.Message),
        RestoreFailure.TooLarge => (StatusCodes.Status413PayloadTooLarge, "The upload is too large", exception.Message),
        RestoreFailure.Unusable => (StatusCodes.Status422UnprocessableEntity, "The file cannot be restored", exception.Message),
        RestoreFailure.RemoteCopyChanged => (StatusCodes.Status422UnprocessableEntity, "The offsite copy changed on the target", exception.Message),
        RestoreFailure.NewerSchema => (StatusCodes.Status409Conflict, "Made by a newer version", exception.Message),
        RestoreFailure.UnknownBackup => (StatusCodes.Status404NotFound, "No such stored backup", exception.Message),
        RestoreFailure.Busy => (StatusCodes.Status429TooManyRequests, "A backup or restore is already running", exception.Message),
        RestoreFailure.InsufficientStorage => (StatusCodes.Status507InsufficientStorage, "Insufficient storage for the restore", exception.Message),
        _ => (StatusCodes.Status500InternalServerError, "The restore failed", exception.Message),
    };
}
