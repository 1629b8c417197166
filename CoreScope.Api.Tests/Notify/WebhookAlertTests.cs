using System.Diagnostics;
using CoreScope.Data.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace CoreScope.Api.Tests.Notify;

/// <summary>
/// Webhook alerts (docs/operators.md, "Webhook alerts") sent to a receiver on a real socket on 127.0.0.1, from
/// backups that really fail: the temp folder is replaced by a file, so every snapshot fails until it is a folder again.
/// </summary>
public sealed class WebhookAlertTests : WorkspaceTests
{
    [SetUp]
    public async Task CreateDatabase()
    {
        await CreateDatabaseAsync(transmissions: 20);
    }

    [Test]
    public async Task FailFailSucceed_PostsOneFailureAndOneRecovery()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var factory = Server(receiver);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        BreakTempFolder();
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        await receiver.WaitForBodiesAsync(1);
        RepairTempFolder();
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.OK);
        await receiver.WaitForBodiesAsync(2);

        // Time for a wrongly sent third one to arrive.
        await Task.Delay(500);
        receiver.Bodies.Should().HaveCount(2, "a second failure in a row is no news; the recovery is");
        using var failure = JsonDocument.Parse(receiver.Bodies[0]);
        var failed = failure.RootElement;
        failed.GetProperty("event").GetString().Should().Be("backup.failed");
        failed.GetProperty("severity").GetString().Should().Be("critical");
        failed.GetProperty("server").GetString().Should().Be("mesh-box-7");
        failed.GetProperty("source").GetString().Should().Be("download");
        failed.GetProperty("backupId").ValueKind.Should().Be(JsonValueKind.Null, "a download is no stored backup");
        failed.GetProperty("reason").GetString().Should().Contain("The snapshot failed (IOException)").And.NotContain(Workspace.BackupTempDirectory);
        failed.GetProperty("text").GetString().Should().StartWith("CoreScope on mesh-box-7: the download backup failed: ").And.Contain("The server's log has the details");
        DateTimeOffset.Parse(failed.GetProperty("at").GetString()!, System.Globalization.CultureInfo.InvariantCulture)
            .Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));

        using var recovery = JsonDocument.Parse(receiver.Bodies[1]);
        recovery.RootElement.GetProperty("event").GetString().Should().Be("backup.recovered");
        recovery.RootElement.GetProperty("severity").GetString().Should().Be("info");
        recovery.RootElement.GetProperty("text").GetString().Should().Contain("download backups work again");
    }

    [Test]
    public async Task ReceiverFailingItsFirstTries_GetsTheAlertOnALaterTry()
    {
        await using var receiver = await WebhookReceiver.StartAsync(answer: attempt => attempt <= 2 ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK);
        await using var factory = Server(receiver);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        BreakTempFolder();
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);

        await receiver.WaitForBodiesAsync(3);
        await Task.Delay(500);
        receiver.Bodies.Should().HaveCount(3, "two refusals, then the try that worked");
        receiver.Bodies.Distinct().Should().ContainSingle("every try carries the same alert");
        receiver.Delivered.Should().ContainSingle();
        await Eventually.TrueAsync(
            () => Task.FromResult(factory.Logs.Lines.Any(line => line.Message.Contains("Webhook alert backup.failed delivered to 127.0.0.1", StringComparison.Ordinal))),
            "the delivery's log line");
    }

    [Test]
    public async Task ReceiverThatKeepsFailing_IsTriedMaxAttemptsTimes_ThenLoggedAndDropped_WithoutTheUrlsToken()
    {
        await using var receiver = await WebhookReceiver.StartAsync(answer: _ => StatusCodes.Status500InternalServerError);
        await using var factory = Server(receiver, maxAttempts: 3);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        BreakTempFolder();
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);

        await Eventually.TrueAsync(
            () => Task.FromResult(factory.Logs.Lines.Any(line => line.Message.Contains("the alert is dropped", StringComparison.Ordinal))),
            "the log line of the dropped alert");
        await Task.Delay(500);
        receiver.Bodies.Should().HaveCount(3, "MaxAttempts tries and not one more");
        var logged = factory.Logs.Lines.Single(line => line.Message.Contains("the alert is dropped", StringComparison.Ordinal)).Message;
        logged.Should().Contain("answered 500").And.Contain("backup.failed");
        factory.Logs.Lines.Should().NotContain(line => line.Message.Contains("T000-secret-token", StringComparison.Ordinal), "the webhook URL's token is a secret");
    }

    [Test]
    public async Task SlowReceiver_NeverHoldsUpABackup()
    {
        await using var receiver = await WebhookReceiver.StartAsync(delay: TimeSpan.FromSeconds(20));
        await using var factory = Server(receiver);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        BreakTempFolder();
        var stopwatch = Stopwatch.StartNew();
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        RepairTempFolder();
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.OK);
        stopwatch.Stop();

        await receiver.WaitForBodiesAsync(1);
        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10), "the receiver takes 20 s per alert, and no backup waited for it");
    }

    [Test]
    public async Task Alert_NeverContainsTheApiKey_EvenWhenAReasonQuotesIt()
    {
        // An operator who named a folder after the key, and the folder turns into a file under the running server
        // (found at start, it would stop the server): the failure's path stays in the log, not in the alert.
        var tempFolder = Path.Combine(Workspace.Root, CoreScopeApiFactory.StrongApiKey, "backup-tmp");
        Directory.CreateDirectory(tempFolder);
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var factory = Server(receiver, extra: new() { ["CoreScope:Backup:TempDirectory"] = tempFolder });
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        (await client.GetAsync("/api/health")).EnsureSuccessStatusCode();
        Directory.Delete(tempFolder);
        await File.WriteAllTextAsync(tempFolder, "not a folder");

        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        await receiver.WaitForBodiesAsync(1);

        receiver.Bodies[0].Should().NotContain(CoreScopeApiFactory.StrongApiKey).And.NotContain(tempFolder);

        // A reason that does quote the key, as a later caller might pass one, is redacted.
        factory.Services.GetRequiredService<BackupActivity>().RecordBackupFailed(
            BackupTrigger.Schedule, $"could not open {tempFolder}/corescope.db");
        await receiver.WaitForBodiesAsync(2);

        receiver.Bodies[1].Should().NotContain(CoreScopeApiFactory.StrongApiKey).And.Contain("[redacted]");
    }

    [Test]
    public async Task DrillAndOffsiteFailures_PostEventsNamingTheBackup_AndTheirRecoveries()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var factory = Server(receiver);
        using var client = factory.CreateClient(key: null);
        (await client.GetAsync("/api/health")).EnsureSuccessStatusCode();

        // The calls the drills and the offsite copies of the later issues make, through the server's own BackupActivity.
        var activity = factory.Services.GetRequiredService<BackupActivity>();
        activity.RecordDrill("20260301T030000Z", CheckOutcome.Failed, TimeSpan.FromSeconds(3), "rows differ: transmissions 1000 in the manifest, 999 restored");
        activity.RecordDrill("20260302T030000Z", CheckOutcome.Failed, TimeSpan.FromSeconds(3), "integrity_check: page 7 is never used");
        activity.RecordOffsiteFailed("s3-eu", "20260301T030000Z", "403 Forbidden");
        activity.RecordDrill("20260303T030000Z", CheckOutcome.Passed, TimeSpan.FromSeconds(3));
        activity.RecordOffsiteSucceeded("s3-eu", "20260303T030000Z");

        await receiver.WaitForBodiesAsync(4);
        await Task.Delay(300);
        var events = receiver.Bodies.Select(body => JsonDocument.Parse(body).RootElement).ToList();
        events.Select(e => e.GetProperty("event").GetString()).Should().Equal("drill.failed", "offsite.failed", "drill.recovered", "offsite.recovered");
        events[0].GetProperty("backupId").GetString().Should().Be("20260301T030000Z");
        events[0].GetProperty("text").GetString().Should().Contain("restore drill of backup 20260301T030000Z failed").And.Contain("rows differ");
        events[1].GetProperty("severity").GetString().Should().Be("warning");
        events[1].GetProperty("source").GetString().Should().Be("s3-eu");
        events[1].GetProperty("reason").GetString().Should().Be("403 Forbidden");
        events[1].GetProperty("text").GetString().Should().Be("CoreScope on mesh-box-7: the offsite copy of backup 20260301T030000Z to s3-eu failed: 403 Forbidden");
        events[3].GetProperty("backupId").GetString().Should().Be("20260303T030000Z");
    }

    [Test]
    public async Task FullQueue_DropsTheNewAlertWithALogLine_InsteadOfWaiting()
    {
        await using var receiver = await WebhookReceiver.StartAsync(delay: TimeSpan.FromSeconds(5));
        await using var factory = Server(receiver, extra: new() { ["CoreScope:Notify:QueueCapacity"] = "1" });
        using var client = factory.CreateClient(key: null);
        (await client.GetAsync("/api/health")).EnsureSuccessStatusCode();
        var activity = factory.Services.GetRequiredService<BackupActivity>();

        // One alert in flight at the slow receiver, one waiting, and a third with no room.
        var stopwatch = Stopwatch.StartNew();
        activity.RecordDrill("20260301T030000Z", CheckOutcome.Failed, TimeSpan.FromSeconds(1), "rows differ");
        await receiver.WaitForBodiesAsync(1);
        activity.RecordOffsiteFailed("s3-eu", "20260301T030000Z", "403 Forbidden");
        activity.RecordOffsiteFailed("azure-we", "20260301T030000Z", "AuthorizationFailure");
        stopwatch.Stop();

        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2), "recording never waits for the receiver");
        factory.Logs.Lines.Should().Contain(line => line.Message.Contains("The webhook queue is full", StringComparison.Ordinal)
            && line.Message.Contains("azure-we", StringComparison.Ordinal));
    }

    [Test]
    public async Task WithoutWebhookUrl_NothingIsSent_AndBackupsWork()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        BreakTempFolder();
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        await Task.Delay(300);
        receiver.Bodies.Should().BeEmpty();
    }

    [Test]
    public async Task ReceiverRedirectingToAnotherHost_IsNotFollowed_AndIsLoggedAsAFailureNamingOnlyThatHost()
    {
        await using var elsewhere = await WebhookReceiver.StartAsync();
        await using var mover = await WebhookReceiver.StartAsync(redirectTo: ElsewhereUrl(elsewhere));
        await using var factory = Server(mover);
        using var client = factory.CreateClient(key: null);
        (await client.GetAsync("/api/health")).EnsureSuccessStatusCode();

        factory.Services.GetRequiredService<BackupActivity>().RecordDrill("20260301T030000Z", CheckOutcome.Failed, TimeSpan.FromSeconds(1), "rows differ");
        await factory.Logs.WaitForAsync("which is not followed");

        elsewhere.Bodies.Should().BeEmpty("the alert goes to the configured receiver or nowhere");
        mover.Bodies.Should().ContainSingle("a redirect is an answer, not a failure worth a retry");
        var logged = factory.Logs.Lines.Single(line => line.Message.Contains("which is not followed", StringComparison.Ordinal)).Message;
        logged.Should().Contain("The webhook at 127.0.0.1 answered 307 to alert drill.failed, a redirect to localhost");
        logged.Should().NotContain("/hooks/", "the paths of both addresses may hold a token");
        factory.Logs.Lines.Should().NotContain(line => line.Message.Contains("delivered", StringComparison.Ordinal));
    }

    [Test]
    public async Task Alert_IsSentWithAContentLength_NotChunked()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var factory = Server(receiver);
        using var client = factory.CreateClient(key: null);
        (await client.GetAsync("/api/health")).EnsureSuccessStatusCode();

        factory.Services.GetRequiredService<BackupActivity>().RecordDrill("20260301T030000Z", CheckOutcome.Failed, TimeSpan.FromSeconds(1), "rows differ");
        await receiver.WaitForBodiesAsync(1);

        var (contentLength, transferEncoding) = receiver.Framing.Single();
        contentLength.Should().Be(System.Text.Encoding.UTF8.GetByteCount(receiver.Bodies[0]), "some receivers read no chunked body");
        transferEncoding.Should().BeEmpty();
        JsonDocument.Parse(receiver.Bodies[0]).RootElement.GetProperty("event").GetString().Should().Be("drill.failed");
    }

    [Test]
    public async Task WebhookUrl_IsInNoLogLine_AtAnyLevel_OnlyItsHost()
    {
        // Every category at Trace, a try that fails and is retried, then a redirect whose target holds a token too.
        await using var elsewhere = await WebhookReceiver.StartAsync();
        await using var receiver = await WebhookReceiver.StartAsync(answer: attempt => attempt == 1 ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK);
        await using var mover = await WebhookReceiver.StartAsync(redirectTo: ElsewhereUrl(elsewhere));
        var trace = new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Trace", ["Logging:LogLevel:Microsoft"] = "Trace", ["Logging:LogLevel:System"] = "Trace" };
        await using var retried = Server(receiver, extra: trace);
        await using var redirected = Server(mover, extra: trace);
        foreach (var factory in new[] { retried, redirected })
        {
            using var client = factory.CreateClient(key: null);
            (await client.GetAsync("/api/health")).EnsureSuccessStatusCode();
            factory.Services.GetRequiredService<BackupActivity>().RecordDrill("20260301T030000Z", CheckOutcome.Failed, TimeSpan.FromSeconds(1), "rows differ");
        }

        await retried.Logs.WaitForAsync("delivered to 127.0.0.1");
        await redirected.Logs.WaitForAsync("a redirect to localhost");

        foreach (var logs in new[] { retried.Logs, redirected.Logs })
        {
            logs.Lines.Should().Contain(line => line.Category.StartsWith("Polly", StringComparison.Ordinal) || line.Category.StartsWith("System.Net", StringComparison.Ordinal)
                || line.Category.StartsWith("Microsoft.Extensions.Http", StringComparison.Ordinal), "the framework's own lines are on");
            logs.Lines.Concat(logs.Scopes.Select(scope => ("scope", scope))).Should().NotContain(
                line => line.Item2.Contains("T000-secret-token", StringComparison.Ordinal) || line.Item2.Contains("/hooks/", StringComparison.Ordinal),
                "the webhook URL's path is a secret, at every level");
        }
    }

    // The other receiver under another name of the same machine: a host the configured URL does not name.
    private static string ElsewhereUrl(WebhookReceiver elsewhere) =>
        elsewhere.Url.Replace("127.0.0.1", "localhost", StringComparison.Ordinal).Replace("T000-secret-token", "R000-other-secret", StringComparison.Ordinal);

    [Test]
    public void WebhookUrl_NotAUrl_StopsTheServerAtStart()
    {
        using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey,
            new Dictionary<string, string?> { ["CoreScope:Notify:WebhookUrl"] = "hooks.example/no-scheme" });
        var start = () => factory.CreateClient(key: null);
        start.Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>().WithMessage("*WebhookUrl*");
    }

    private CoreScopeApiFactory Server(WebhookReceiver receiver, int maxAttempts = 6, Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["CoreScope:Notify:WebhookUrl"] = receiver.Url,
            ["CoreScope:Notify:ServerName"] = "mesh-box-7",
            ["CoreScope:Notify:MaxAttempts"] = maxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["CoreScope:Notify:FirstRetryDelaySeconds"] = "0.05",
            ["CoreScope:Notify:AttemptTimeoutSeconds"] = "2",
        };
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }

        return new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey, settings);
    }

    private void BreakTempFolder()
    {
        Directory.Delete(Workspace.BackupTempDirectory, recursive: true);
        File.WriteAllText(Workspace.BackupTempDirectory, "not a folder");
    }

    private void RepairTempFolder()
    {
        File.Delete(Workspace.BackupTempDirectory);
        Directory.CreateDirectory(Workspace.BackupTempDirectory);
    }
}
