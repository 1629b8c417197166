using System.Net.Http.Json;
using CoreScope.Api.Tests.Backup;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CoreScope.Api.Tests.Diagnostics;

/// <summary>
/// docs/operators.md "What the server records of a request": route templates, never raw paths. A download link's token
/// is a path segment that downloads the whole database while the link lives, so it must appear in no answer, no log
/// line or scope and no metric, least of all the ones anyone can read without the key.
/// </summary>
public sealed class RequestPathExposureTests : WorkspaceTests
{
    private const string LinkRoute = "/api/backup-links/{token}";

    [SetUp]
    public Task CreateDatabase() => CreateDatabaseAsync(transmissions: 300);

    [Test]
    public async Task SlowLinkDownload_TheTokenIsInNoAnswerLogLineOrMetric_AndPerfNamesTheRouteTemplate()
    {
        var server = CreateServer();
        using var operatorClient = server.CreateOperatorClient();
        using var anonymous = server.CreateClient(key: null);
        var (url, token) = await LinkAsync(operatorClient);
        var answers = new List<string>();

        // The client takes its time over the body: the server's write waits on it, so the download is slower than
        // the perf threshold (100 ms) and lands in health's list of recent slow requests.
        using (var slow = await anonymous.GetAsync(url, HttpCompletionOption.ResponseHeadersRead))
        {
            slow.StatusCode.Should().Be(HttpStatusCode.OK);
            await Task.Delay(400);
            (await slow.Content.ReadAsByteArrayAsync()).Length.Should().BeGreaterThan(64 * 1024, "a body larger than the test server's buffer is what makes the server wait");
        }

        // The same token in the other shapes a request can take: resumed, HEAD, altered, with a bad expiry, under a
        // path no route matches.
        var altered = Altered(url, token);
        var variants = new (HttpMethod Method, string Url)[]
        {
            (HttpMethod.Head, url),
            (HttpMethod.Get, altered),
            (HttpMethod.Get, altered.Split('?')[0] + "?expires=-99999999999"),
            (HttpMethod.Get, altered.Split('?')[0] + "?expires=not-a-number"),
            (HttpMethod.Get, url.Split('?')[0] + "/more"),
            (HttpMethod.Post, url),
        };
        foreach (var (method, variant) in variants)
        {
            using var response = await anonymous.SendAsync(new HttpRequestMessage(method, variant));
            answers.Add($"{method} {variant.Replace(token, "<token>", StringComparison.Ordinal)} -> {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        var perf = await anonymous.GetFromJsonAsync<JsonElement>("/api/perf");
        perf.GetProperty("slowQueries").EnumerateArray().Select(slow => slow.GetProperty("path").GetString())
            .Should().Contain(LinkRoute, "the slow download is listed under its route template");
        perf.GetProperty("endpoints").EnumerateObject().Select(endpoint => endpoint.Name).Should().Contain(LinkRoute);

        // Every answer to a GET without route values, with the key and without, and /metrics.
        foreach (var path in ParameterlessGetRoutes(server))
        {
            foreach (var client in new[] { anonymous, operatorClient })
            {
                using var response = await client.GetAsync(path);
                answers.Add($"GET {path} -> {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        }

        answers.Should().Contain(answer => answer.StartsWith("GET /api/health ", StringComparison.Ordinal) && answer.Contains(LinkRoute, StringComparison.Ordinal),
            "health's recentSlow lists the download, by template");
        answers.Should().Contain(answer => answer.StartsWith("GET /metrics ", StringComparison.Ordinal) && answer.Contains("http_route=\"api/backup-links/{token}\"", StringComparison.Ordinal),
            "the framework's request metrics label the download by its template");
        AssertNowhere(token, answers, server);
        server.Logs.Lines.Should().Contain(line => line.Message.Contains("route=" + LinkRoute, StringComparison.Ordinal), "the audit line names the route");
    }

    [Test]
    public async Task LoggingTurnedUpToTrace_NoLineOrScopeCarriesTheToken()
    {
        var server = CreateServer(
            ("Logging:LogLevel:Default", "Trace"),
            ("Logging:LogLevel:Microsoft.AspNetCore", "Trace"),
            ("Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics", "Trace"),
            ("Logging:LogLevel:Microsoft.AspNetCore.Routing.Matching", "Trace"),

            // A wildcard and a provider's own section are more specific than any rule but the operator's own.
            ("Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics*", "Trace"),
            ("Logging:LogLevel:Microsoft.AspNetCore*", "Trace"),
            ($"Logging:{typeof(CapturedLogs).FullName}:LogLevel:Microsoft.AspNetCore.Mvc.Infrastructure.ControllerActionInvoker", "Trace"),
            ($"Logging:{typeof(CapturedLogs).FullName}:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics", "Trace"));
        using var operatorClient = server.CreateOperatorClient();
        using var anonymous = server.CreateClient(key: null);
        var (url, token) = await LinkAsync(operatorClient);

        using (var download = await anonymous.GetAsync(url))
        {
            download.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        using (var failing = await anonymous.GetAsync(Altered(url, token).Split('?')[0] + "?expires=-99999999999"))
        {
            ((int)failing.StatusCode).Should().BeGreaterThanOrEqualTo(400);

            // The request still has its Activity (made while the hosting category is enabled), so the error body's
            // trace id is the W3C one that log scopes and a caller's traceparent share.
            (await failing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("traceId").GetString().Should().MatchRegex("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$");
        }

        server.Logs.Lines.Count(line => line.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal))
            .Should().BeGreaterThan(0, "the framework still logs at Information and above");
        server.Logs.Lines.Should().Contain(line => line.Message.Contains("Backup audit", StringComparison.Ordinal));
        server.Logs.Scopes.Should().Contain(scope => scope.Contains("BackupLinksController.Download", StringComparison.Ordinal), "scopes are captured (MVC's action scope is one)");
        AssertNowhere(token, [], server);
    }

    private static async Task<(string Url, string Token)> LinkAsync(HttpClient operatorClient)
    {
        var manifest = await StoredBackups.StoreAsync(operatorClient);
        using var response = await operatorClient.PostAsync($"/api/backups/{manifest.Id()}/link", null);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var url = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("url").GetString()!;
        var token = url["/api/backup-links/".Length..url.IndexOf('?', StringComparison.Ordinal)];
        token.Length.Should().BeGreaterThan(40);
        return (url, token);
    }

    // The link with one character of its token changed: refused, and still a secret's worth of text.
    private static string Altered(string url, string token)
    {
        var at = url.IndexOf(token, StringComparison.Ordinal) + token.Length - 10;
        return url[..at] + (url[at] == 'A' ? 'B' : 'A') + url[(at + 1)..];
    }

    // The GET routes one can ask without knowing a value for the route (health, perf, stats, lists, /metrics, the
    // OpenAPI document), read from the server's own endpoints so a route added later is searched too. A backup
    // download is left out: it is the database, which holds no link.
    private static List<string> ParameterlessGetRoutes(CoreScopeApiFactory server) =>
        server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(endpoint => endpoint.RoutePattern.Parameters.Count == 0)
            .Where(endpoint => endpoint.Metadata.GetMetadata<IHttpMethodMetadata>() is not { } methods || methods.HttpMethods.Contains(HttpMethods.Get))
            .Where(endpoint => endpoint.RoutePattern.RawText != "api/backup")
            .Select(endpoint => "/" + endpoint.RoutePattern.RawText!.TrimStart('/'))
            .Distinct()
            .ToList();

    // The whole token, and its last 24 characters (the part that differs from link to link: a token made with the same
    // key starts with the same bytes), so a token cut short or altered in one character is found too.
    private static void AssertNowhere(string token, List<string> answers, CoreScopeApiFactory server)
    {
        var tail = token[^24..];
        var places = answers.Select(answer => ("answer", answer))
            .Concat(server.Logs.Lines.Select(line => ("log " + line.Category, line.Message)))
            .Concat(server.Logs.Scopes.Select(scope => ("log scope", scope)));
        places.Where(place => place.Item2.Contains(token, StringComparison.Ordinal) || place.Item2.Contains(tail, StringComparison.Ordinal))
            .Select(place => $"{place.Item1}: {place.Item2}")
            .Should().BeEmpty("a link's token downloads the database while the link lives");
    }
}
