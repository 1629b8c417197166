using NUnit.Framework;

namespace CoreScope.Api.Tests.Infrastructure;

/// <summary>Gives each test a <see cref="TestWorkspace"/> of its own, deleted after it.</summary>
public abstract class WorkspaceTests
{
    protected TestWorkspace Workspace { get; private set; } = null!;

    [SetUp]
    public void CreateWorkspace() => Workspace = new TestWorkspace();

    [TearDown]
    public void DeleteWorkspace() => Workspace.Dispose();
}
