using System.Net.Http.Json;
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
        // The URL of an incoming webhook is a secret of its own (it carries the token), so only its host is logged.
        try
        {
            using var client = httpClientFactory.CreateClient(ClientName);
            using var response = await client.PostAsJsonAsync(url, alert, Json, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                logger.LogInformation("Webhook alert {Event} delivered to {Host}", alert.Event, url.Host);
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
}
