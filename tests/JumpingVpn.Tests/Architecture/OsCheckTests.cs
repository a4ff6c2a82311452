using System.Text.RegularExpressions;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Architecture;

/// <summary>
/// The OS is tested in one place, the composition root (docs/platform.md §8); everything else asks it for a
/// capability. The few checks that remain are guards the platform analyzer or an OS-only API needs inside the
/// implementation of one platform. Each is pinned here by file and count, so a new OS check anywhere else fails.
/// </summary>
public sealed partial class OsCheckTests
{
    /// <summary>Where an `OperatingSystem.Is*` call may appear, how many times, and why.</summary>
    private static readonly Dictionary<string, int> Allowed = new(StringComparer.Ordinal)
    {
        // The composition root: the one choice from the OS.
        ["src/Control/Hosting/HostComposition.cs"] = 2,
        // Analyzer guards inside Windows-only implementations (their methods call Windows-only APIs and are
        // reachable in tests on other systems, where they must refuse instead of crashing).
        ["src/Platform/Net/Windows/WindowsPathPlatform.cs"] = 3,
        ["src/Platform/Net/Windows/WindowsRouteChangeWatcher.cs"] = 1,
        ["src/Control/Interface/WindowsHostPlatform.cs"] = 3,
        // A libc P/Invoke wrapper's own guard (it is also called on Windows, where it answers "no group").
        ["src/Platform/FileOwner.cs"] = 1,
        // The UDP transport's per-OS socket options (batched Linux path, Windows SIO_UDP_CONNRESET) and the
        // guards of its Linux-only socket options.
        ["src/Platform/Udp/UdpTransport.cs"] = 4,
        // The audit file sink creates its directory without Unix modes on Windows.
        ["src/Control/Audit/JsonLinesFileSink.cs"] = 1,
    };

    [GeneratedRegex(@"OperatingSystem\.Is[A-Za-z]*\(")]
    private static partial Regex OsCheck();

    [Fact]
    public void Os_checks_appear_only_where_they_are_pinned()
    {
        Dictionary<string, int> found = Count(RepositoryRoot.Find());

        var unexpected = new List<string>();
        foreach ((string file, int count) in found)
        {
            int allowed = Allowed.GetValueOrDefault(file);
            if (count > allowed)
            {
                unexpected.Add($"{file}: {count} OS check(s), {allowed} allowed; ask Hosting.HostComposition.Current for a capability instead");
            }
        }
        Assert.Empty(unexpected);
    }

    [Fact]
    public void Every_pinned_place_still_has_its_checks()
    {
        // A stale entry would let a new check into that file unnoticed.
        Dictionary<string, int> found = Count(RepositoryRoot.Find());

        foreach ((string file, int count) in Allowed)
        {
            Assert.Equal((file, count), (file, found.GetValueOrDefault(file)));
        }
    }

    [Fact]
    public void The_counter_sees_a_check()
    {
        Assert.Equal(2, OsCheck().Count("x = OperatingSystem.IsWindows() || OperatingSystem.IsLinux();"));
        Assert.Equal(0, OsCheck().Count("HostComposition.Current.PosixFileModes"));
    }

    private static Dictionary<string, int> Count(string root)
    {
        var found = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string path in Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(root, path).Replace('\\', '/');
            if (relative.Contains("/obj/", StringComparison.Ordinal) || relative.Contains("/bin/", StringComparison.Ordinal))
            {
                continue;
            }
            int n = OsCheck().Count(File.ReadAllText(path));
            if (n > 0)
            {
                found[relative] = n;
            }
        }
        return found;
    }
}
