using System.Text.RegularExpressions;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Scripts;

/// <summary>The README's two commands and .ci/run install what they need from one list
/// (scripts/lib/system-packages.txt): these tests keep the list complete and the scripts on it.</summary>
public sealed partial class SystemPackagesTests
{
    [Fact]
    public void Every_binary_a_test_requires_is_listed_with_its_package()
    {
        IReadOnlyDictionary<string, SystemPackages.Entry> list = LoadList();
        var unlisted = new SortedSet<string>(StringComparer.Ordinal);
        string testsDir = Path.Combine(RepositoryRoot.Find(), "tests");
        foreach (string file in Directory.EnumerateFiles(testsDir, "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            {
                continue;
            }
            foreach (Match call in RequirementsCall().Matches(File.ReadAllText(file)))
            {
                foreach (Match literal in StringLiteral().Matches(call.Groups["args"].Value))
                {
                    string binary = literal.Groups[1].Value;
                    if (binary != "jvpn" && !(list.TryGetValue(binary, out SystemPackages.Entry? e) && e.Groups.Contains("test")))
                    {
                        unlisted.Add($"{binary} ({Path.GetFileName(file)})");
                    }
                }
            }
        }
        Assert.Empty(unlisted);
    }

    [Fact]
    public void Ci_test_and_demo_scripts_install_from_the_one_list()
    {
        string root = RepositoryRoot.Find();
        foreach (string script in new[] { ".ci/run", "scripts/test.sh", "scripts/lib/netns-tunnel.sh" })
        {
            Assert.Contains("system-packages.sh", File.ReadAllText(Path.Combine(root, script)), StringComparison.Ordinal);
        }
        var ownInstalls = new List<string>();
        foreach (string dir in new[] { ".ci", "scripts", "bench" })
        {
            foreach (string file in Directory.EnumerateFiles(Path.Combine(root, dir), "*", SearchOption.AllDirectories))
            {
                if (Path.GetFileName(file) != "system-packages.sh" && File.ReadAllText(file).Contains("apt-get install -y", StringComparison.Ordinal))
                {
                    ownInstalls.Add(Path.GetRelativePath(root, file));
                }
            }
        }
        Assert.Empty(ownInstalls);
    }

    [Fact]
    public void A_binary_no_Debian_package_provides_is_named_with_the_fix()
    {
        string lib = Path.Combine(RepositoryRoot.Find(), "scripts", "lib", "system-packages.sh");
        CommandResult r = Command.TryRun("bash", ["-c", $"source '{lib}'; ensure_binaries bash jvpn-no-such-binary"]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("missing: jvpn-no-such-binary", r.StandardError, StringComparison.Ordinal);
        Assert.Contains("not installable from Debian", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("bash", r.StandardError.Replace("jvpn-no-such-binary", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void A_line_without_package_or_group_is_refused()
    {
        Assert.Throws<FormatException>(() => SystemPackages.Parse(["wg wireguard-tools"]));
        IReadOnlyDictionary<string, SystemPackages.Entry> parsed = SystemPackages.Parse(["# comment", "", "wg  wireguard-tools  demo test"]);
        Assert.Equal(["demo", "test"], parsed["wg"].Groups);
    }

    private static IReadOnlyDictionary<string, SystemPackages.Entry> LoadList() =>
        SystemPackages.All ?? throw new InvalidOperationException("scripts/lib/system-packages.txt not found in the checkout");

    [GeneratedRegex(@"Requirements\.Ensure(?:Tools)?\((?<args>[^)]*)\)")]
    private static partial Regex RequirementsCall();

    [GeneratedRegex("\"([^\"]+)\"")]
    private static partial Regex StringLiteral();
}
