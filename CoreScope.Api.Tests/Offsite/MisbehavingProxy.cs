using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CoreScope.Api.Tests.Offsite;

/// <summary>How <see cref="MisbehavingProxy"/> answers a request it was told to misbehave on.</summary>
public enum ProxyAnswer
{
    /// <summary>Passes the request to the emulator and its answer back.</summary>
    Forward,

    /// <summary>Reads the request and never answers, until the client gives up.</summary>
    Hang,

    /// <summary>200 with XML that is cut off in the middle, as a proxy that drops the connection's end.</summary>
    BrokenXml,

    /// <summary>200 with an HTML page, as a captive portal or a misconfigured reverse proxy answers.</summary>
    Html,

    /// <summary>500 with an HTML page instead of the service's XML error.</summary>
    ServerError,
}

/// <summary>
/// A real HTTP server on 127.0.0.1 and a free port in front of an emulator: it forwards every request to the emulator
/// (byte for byte: the raw path and query, the headers, the body), except those that <see cref="Misbehave"/> picks,
/// which it answers as <see cref="ProxyAnswer"/> says. The server's offsite settings point at <see cref="Url"/>.
/// </summary>
public sealed class MisbehavingProxy : IAsyncDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Expect", "Host", "Proxy-Connection", "TE", "Trailer",
    };

    private readonly WebApplication _app;
    private readonly HttpClient _upstream;
    private int _misbehaved;

    private MisbehavingProxy(WebApplication app, Uri upstream)
    {
        _app = app;
        _upstream = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, AutomaticDecompression = DecompressionMethods.None })
        {
            BaseAddress = upstream,
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>The address to give the server instead of the emulator's, such as <c>http://127.0.0.1:40123</c>.</summary>
    public string Url { get; private set; } = "";

    /// <summary>Which requests to misbehave on, and how; null (the start) forwards everything.</summary>
    public Func<HttpRequest, ProxyAnswer?>? Misbehave { get; set; }

    /// <summary>How many requests were answered otherwise than by forwarding.</summary>
    public int Misbehaved => Volatile.Read(ref _misbehaved);

    /// <summary>Every request from now on answered as <paramref name="answer"/>.</summary>
    public void Always(ProxyAnswer answer) => Misbehave = _ => answer;

    /// <summary>The first <paramref name="count"/> requests from now on answered as <paramref name="answer"/>, the rest forwarded.</summary>
    public void First(int count, ProxyAnswer answer)
    {
        var left = count;
        Misbehave = _ => Interlocked.Decrement(ref left) >= 0 ? answer : null;
    }

    /// <summary>Starts a proxy in front of <paramref name="upstream"/> (an emulator's <c>http://127.0.0.1:port</c>).</summary>
    public static async Task<MisbehavingProxy> StartAsync(string upstream)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = null);

        // A request that hangs ends with the proxy, not 30 s later.
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(2));
        var app = builder.Build();
        var proxy = new MisbehavingProxy(app, new Uri(upstream));
        app.Run(proxy.HandleAsync);
        await app.StartAsync();
        proxy.Url = app.Urls.Single().TrimEnd('/');
        return proxy;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var answer = Misbehave?.Invoke(context.Request) ?? ProxyAnswer.Forward;
        if (answer != ProxyAnswer.Forward)
        {
            Interlocked.Increment(ref _misbehaved);

            // The request's body is read whole first, as a server would before it answers.
            await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
        }

        switch (answer)
        {
            case ProxyAnswer.Hang:
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    // The client gave up, or the proxy stops.
                }

                return;
            case ProxyAnswer.BrokenXml:
                await WriteAsync(context, StatusCodes.Status200OK, "application/xml",
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>corescope</Name><Contents><Key>corescope/corescope-bac");
                return;
            case ProxyAnswer.Html:
                await WriteAsync(context, StatusCodes.Status200OK, "text/html",
                    "<!DOCTYPE html>\n<html><head><title>Sign in to the network</title></head><body><p>Accept the terms to go on.</p></body></html>");
                return;
            case ProxyAnswer.ServerError:
                await WriteAsync(context, StatusCodes.Status500InternalServerError, "text/html",
                    "<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>");
                return;
            default:
                await ForwardAsync(context);
                return;
        }
    }

    private static async Task WriteAsync(HttpContext context, int status, string contentType, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        await context.Response.WriteAsync(body, context.RequestAborted);
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var request = context.Request;
        var target = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), target);
        if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            message.Content = new StreamContent(request.Body);
        }

        foreach (var (name, values) in request.Headers)
        {
            if (HopByHop.Contains(name))
            {
                continue;
            }

            if (!message.Headers.TryAddWithoutValidation(name, values.ToArray()))
            {
                message.Content ??= new ByteArrayContent([]);
                message.Content.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
        }

        using var response = await _upstream.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!HopByHop.Contains(name))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted);
        await body.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _upstream.Dispose();
    }
}
