using System.Net.Http.Headers;
using System.Text.Json;
using CoreScope.Data.Options;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Notify;

/// <summary>
/// Posts queued alerts to <see cref="NotifyOptions.WebhookUrl"/>, one at a time in order. Retries with backoff and
/// a timeout per try come from the named client's resilience handler (<see cref="DependencyInjection"/>); once the
/// tries are used up the alert is logged with the receiver's last answer and dropped, so a receiver that never
/// recovers costs a log line per alert, not a growing backlog.
/// </summary>
public sealed class WebhookSender(
    BackupAlerts alerts,
    IHttpClientFactory httpClientFactory,
    IOptions<NotifyOptions> options,
    ILogger<WebhookSender> logger) : BackgroundService
{
    /// <summary>The named <see cref="HttpClient"/> whose handler retries.</summary>
    public const string ClientName = "CoreScope.Notify";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!alerts.Enabled)
        {
            return;
        }

        var url = new Uri(options.Value.WebhookUrl!, UriKind.Absolute);
        try
        {
            await foreach (var alert in alerts.Pending.ReadAllAsync(stoppingToken))
            {
                await SendAsync(url, alert, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: what is still queued is lost with the process, as the failures it reports are logged.
        }
    }

    private async Task SendAsync(Uri url, WebhookAlert alert, CancellationToken cancellationToken)
    {
        // The URL of an incoming webhook is a secret of its own (it carries the token), so only its host is logged, and
        // of a redirect's target likewise only the host.
        try
        {
            using var client = httpClientFactory.CreateClient(ClientName);
            using var response = await client.PostAsync(url, Body(alert), cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                logger.LogInformation("Webhook alert {Event} delivered to {Host}", alert.Event, url.Host);
            }
            else if ((int)response.StatusCode is >= 300 and < 400)
            {
                var target = response.Headers.Location is { } location ? (location.IsAbsoluteUri ? location.Host : url.Host) : "nowhere";
                logger.LogError(
                    "The webhook at {Host} answered {Status} to alert {Event}, a redirect to {TargetHost}, which is not followed; the alert " +
                    "is dropped (set CoreScope:Notify:WebhookUrl to the address the receiver redirects to): {Text}",
                    url.Host, (int)response.StatusCode, alert.Event, target, alert.Text);
            }
            else
            {
                logger.LogError(
                    "The webhook at {Host} answered {Status} to alert {Event} after its retries; the alert is dropped: {Text}",
                    url.Host, (int)response.StatusCode, alert.Event, alert.Text);
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogError(
                "The webhook at {Host} could not be reached for alert {Event} after its retries ({Error}); the alert is dropped: {Text}",
                url.Host, alert.Event, exception.GetType().Name + ": " + exception.Message, alert.Text);
        }
    }

    // Whole bytes with a Content-Length: JsonContent would stream the body chunked, and some receivers read no chunked body.
    private static ByteArrayContent Body(WebhookAlert alert)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(alert, Json));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }
}
