namespace JumpingVpn.Tests.Infrastructure;

/// <summary>The checkout the tests were built from: the first ancestor of the test assembly's folder that
/// holds JumpingVpn.sln.</summary>
internal static class RepositoryRoot
{
    private static readonly Lazy<string?> Found = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "JumpingVpn.sln")))
            {
                return dir.FullName;
            }
        }
        return null;
    });

    public static string? TryFind() => Found.Value;

    public static string Find() =>
        TryFind() ?? throw new InvalidOperationException("JumpingVpn.sln not found above " + AppContext.BaseDirectory);
}
