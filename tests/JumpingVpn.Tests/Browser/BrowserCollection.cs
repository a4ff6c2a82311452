namespace JumpingVpn.Tests.Browser;

/// <summary>Each browser test starts a manager and a Chromium: on two shared cores they run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BrowserCollection
{
    public const string Name = "Browser";
}
