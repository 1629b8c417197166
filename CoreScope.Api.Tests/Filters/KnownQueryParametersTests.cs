using System.Reflection;
using System.Text;
using CoreScope.Api.Filters;
using CoreScope.Api.Tests.Backup;
using CoreScope.Api.Tests.Restore;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Controllers;
using Microsoft.AspNetCore.Mvc.Routing;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace CoreScope.Api.Tests.Filters;

/// <summary>docs/api.md "Query parameters": a state-changing request with a name its action does not take is a 400, and nothing happens.</summary>
public sealed class KnownQueryParametersTests : WorkspaceTests
{
    private string StoreFolder => StoredBackups.DefaultFolder(Workspace.DatabasePath);

    [SetUp]
    public async Task CreateDatabase()
    {
        await CreateDatabaseAsync(transmissions: 200);
    }

    [Test]
    public async Task Restore_WithDryRunMisspelled_Is400NamingIt_AndRestoresNothing()
    {
        var (client, backup) = await ServerWithLaterRowsAsync();
        var before = DatabaseContent.Read(Workspace.DatabasePath);

        using var response = await RestoreFiles.PostRestoreAsync(client, backup, "?dry_run=true");

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var error = await response.ErrorMemberAsync();
        error.Should().Contain("\"dry_run\"").And.Contain("dryRun", "the answer says what the restore does take");
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(before, options => options.WithStrictOrdering(), "the restore never ran");
        RestoreFiles.SafetyCopies(StoreFolder).Should().BeEmpty("nothing was about to change, so no safety copy was taken");
    }

    [Test]
    public async Task Restore_WithDryRunTwiceInDifferentCase_Is400_AndRestoresNothing()
    {
        var (client, backup) = await ServerWithLaterRowsAsync();
        var before = DatabaseContent.Read(Workspace.DatabasePath);

        // The binder reads names without regard to case and takes the first value: this was a real restore.
        using var response = await RestoreFiles.PostRestoreAsync(client, backup, "?DRYRUN=false&dryRun=true");

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.ErrorMemberAsync()).Should().ContainEquivalentOf("\"dryRun\"").And.Contain("more than once");
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(before, options => options.WithStrictOrdering(), "the restore never ran");
        RestoreFiles.SafetyCopies(StoreFolder).Should().BeEmpty();
    }

    [Test]
    public async Task Restore_WithItsOwnParametersInAnyCase_StillRuns()
    {
        var (client, backup) = await ServerWithLaterRowsAsync();

        using var response = await RestoreFiles.PostRestoreAsync(client, backup, "?DryRun=true");

        var answer = await RestoreFiles.ReadJsonAsync(response, HttpStatusCode.OK);
        answer.GetProperty("dryRun").GetBoolean().Should().BeTrue();
    }

    /// <summary>Every POST, PUT, PATCH and DELETE action the API's controllers declare, so that a new one is covered too.</summary>
    public static IEnumerable<TestCaseData> StateChangingActions() =>
        typeof(Program).Assembly.GetTypes()
            .Where(type => typeof(ControllerBase).IsAssignableFrom(type) && !type.IsAbstract)
            .SelectMany(type => type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .SelectMany(action => action.GetCustomAttributes<HttpMethodAttribute>()
                .SelectMany(attribute => attribute.HttpMethods)
                .Where(KnownQueryParametersFilter.StateChangingMethods.Contains)
                .Select(method => new TestCaseData(method, action.DeclaringType!.Name, action.Name)
                    .SetArgDisplayNames(method, action.DeclaringType!.Name + "." + action.Name)));

    [TestCaseSource(nameof(StateChangingActions))]
    public async Task AnyStateChangingAction_WithAParameterItDoesNotTake_Is400NamingIt_AndStrangersStill401(string method, string controller, string action)
    {
        var factory = CreateServer();
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var endpoint = factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Single(candidate => candidate.Metadata.GetMetadata<ControllerActionDescriptor>() is { } descriptor
                && descriptor.ControllerTypeInfo.Name == controller && descriptor.MethodInfo.Name == action
                && candidate.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Contains(method));
        var url = Url(endpoint.RoutePattern) + "?notTakenHere=1";
        var before = DatabaseContent.Read(Workspace.DatabasePath);

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), url));

        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, body);
        (await response.ErrorMemberAsync()).Should().Contain("\"notTakenHere\"");
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
        StoredManifests().Should().BeEmpty("no backup was made");

        if (endpoint.Metadata.GetMetadata<ApiKeyAttribute>() is not null)
        {
            using var stranger = factory.CreateClient(key: null);
            using var refused = await stranger.SendAsync(new HttpRequestMessage(new HttpMethod(method), url));
            refused.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "the key is checked first; a stranger learns nothing of the names");
            (await refused.Content.ReadAsStringAsync()).Should().NotContain("notTakenHere");
        }
    }

    [Test]
    public void StateChangingActions_AreFoundInTheControllers()
    {
        StateChangingActions().Select(testCase => (string)testCase.Arguments[2]!)
            .Should().Contain(["Restore", "Create", "Delete", "Prune"], "the enumeration that covers new actions finds the known ones");
    }

    [Test]
    public async Task AVeryLongName_OrVeryManyNames_GiveAShortAnswer()
    {
        var factory = CreateServer();
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var longName = new string('a', 6_000);
        var manyNames = new StringBuilder("?");
        for (var i = 0; i < 2_000; i++)
        {
            manyNames.Append(System.Globalization.CultureInfo.InvariantCulture, $"n{i}=1&");
        }

        using var longAnswer = await client.PostAsync($"/api/admin/prune?{longName}=1", null);
        using var manyAnswer = await client.PostAsync("/api/admin/prune" + manyNames, null);

        longAnswer.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var longError = await longAnswer.ErrorMemberAsync();
        longError.Should().Contain(new string('a', KnownQueryParametersFilter.MaxQuotedNameLength) + "…").And.NotContain(new string('a', KnownQueryParametersFilter.MaxQuotedNameLength + 1));
        longError.Length.Should().BeLessThan(300);
        (await longAnswer.Content.ReadAsStringAsync()).Length.Should().BeLessThan(1_000);

        manyAnswer.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var manyError = await manyAnswer.ErrorMemberAsync();
        manyError.Should().Contain("\"n0\", \"n1\", \"n2\" and 1997 more").And.NotContain("n3");
        (await manyAnswer.Content.ReadAsStringAsync()).Length.Should().BeLessThan(1_000);
    }

    private string[] StoredManifests() =>
        Directory.Exists(StoreFolder) ? Directory.GetFiles(StoreFolder, "*.json") : [];

    // A backup of the 200 rows, then more rows, so that a restore that ran would show in the live database.
    private async Task<(HttpClient Client, string Backup)> ServerWithLaterRowsAsync()
    {
        var factory = CreateServer();
        var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var backup = await RestoreFiles.DownloadBackupAsync(client, Path.Combine(Workspace.DownloadDirectory, "backup.db"));
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 30);
        return (client, backup);
    }

    // The route with each parameter filled in: the filter answers before any action looks at the value.
    private static string Url(RoutePattern pattern) =>
        "/" + string.Join("/", pattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternParameterPart => "20260101T000000Z",
            RoutePatternSeparatorPart separator => separator.Content,
            _ => throw new InvalidOperationException("Unexpected route part " + part),
        }))));
}
