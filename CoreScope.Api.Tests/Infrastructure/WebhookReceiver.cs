using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CoreScope.Api.Tests.Infrastructure;

/// <summary>
/// An incoming-webhook receiver on a real socket on 127.0.0.1, like a Mattermost or Slack endpoint: it keeps every
/// body it is sent and answers each try with the status <see cref="Answer"/> gives for its number (1-based), after
/// <see cref="Delay"/>.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<string> _bodies = new();
    private int _tries;

    private WebhookReceiver(WebApplication app) => _app = app;

    public Func<int, int> Answer { get; init; } = _ => StatusCodes.Status200OK;

    public TimeSpan Delay { get; init; } = TimeSpan.Zero;

    /// <summary>Every request body received, including the ones answered with an error.</summary>
    public IReadOnlyList<string> Bodies => _bodies.ToArray();

    /// <summary>The bodies of the requests answered with a success: what a chat channel would show.</summary>
    public ConcurrentQueue<string> Delivered { get; } = new();

    /// <summary>How each request's body was framed: its Content-Length, and its Transfer-Encoding (chunked).</summary>
    public ConcurrentQueue<(long? ContentLength, string TransferEncoding)> Framing { get; } = new();

    /// <summary>When set, every try is answered 307 with this Location, as a receiver that moved.</summary>
    public string? RedirectTo { get; init; }

    public string Url { get; private set; } = "";

    public static async Task<WebhookReceiver> StartAsync(Func<int, int>? answer = null, TimeSpan? delay = null, string? redirectTo = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new WebhookReceiver(app) { Answer = answer ?? (_ => StatusCodes.Status200OK), Delay = delay ?? TimeSpan.Zero, RedirectTo = redirectTo };
        app.MapPost("/hooks/{token}", async (HttpContext context) =>
        {
            receiver.Framing.Enqueue((context.Request.ContentLength, context.Request.Headers.TransferEncoding.ToString()));
            var body = await new StreamReader(context.Request.Body).ReadToEndAsync(context.RequestAborted);
            receiver._bodies.Enqueue(body);
            if (receiver.RedirectTo is { } location)
            {
                return Results.Redirect(location, permanent: false, preserveMethod: true);
            }

            var status = receiver.Answer(Interlocked.Increment(ref receiver._tries));
            await Task.Delay(receiver.Delay, context.RequestAborted);
            if (status < 300)
            {
                receiver.Delivered.Enqueue(body);
            }

            return Results.StatusCode(status);
        });
        await app.StartAsync();
        receiver.Url = app.Urls.First().TrimEnd('/') + "/hooks/T000-secret-token";
        return receiver;
    }

    /// <summary>Waits until at least <paramref name="count"/> requests arrived; fails the test after the timeout.</summary>
    public async Task WaitForBodiesAsync(int count, int timeoutMs = 15_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (_bodies.Count < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The receiver got {_bodies.Count} of {count} requests: {string.Join(" | ", _bodies)}");
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
