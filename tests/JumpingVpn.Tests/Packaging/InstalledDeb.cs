using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Packaging;

/// <summary>The tests that need the .deb installed share one build and one install: building the
/// self-contained package and its NativeAOT jvpn-tunnel takes minutes.</summary>
[CollectionDefinition(Name)]
public sealed class InstalledDebCollection : ICollectionFixture<InstalledDeb>
{
    public const string Name = "Installed .deb";
}

/// <summary>
/// The .deb built by packaging/linux/build-deb.sh and installed into a throwaway root with `dpkg --root`
/// and --force-script-chrootless, so the maintainer scripts run on this host with DPKG_ROOT set (they are
/// written to honour it) and nothing outside the root changes. Forwarding + NAT are asked for through the
/// flag file before the install, as an admin would. Built once per test run for every test of
/// <see cref="InstalledDebCollection"/>; each test takes its own scratch directory with <see cref="Scratch"/>.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class InstalledDeb : IDisposable
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(30);

    private readonly string? _missing;
    private readonly string? _work;

    public InstalledDeb()
    {
        _missing = MissingPrerequisites();
        if (_missing is not null)
        {
            if (Requirements.IsCi)
            {
                throw new InvalidOperationException(_missing + " (CI=true: failing instead of skipping)");
            }
            return;
        }
        Repository = RepositoryRoot.Find();
        Version = ReadVersion(Repository);
        _work = Directory.CreateTempSubdirectory("jvpn-debtest.").FullName;
        try
        {
            string outDir = Path.Combine(_work, "out");
            CommandResult build = Command.Run(Path.Combine(Repository, "packaging/linux/build-deb.sh"), ["--arch", "amd64", "--out", outDir], BuildTimeout);
            Deb = build.StandardOutput.Trim().Split('\n')[^1].Trim();
            if (!File.Exists(Deb))
            {
                throw new InvalidOperationException($"build-deb.sh did not produce {Deb}\n{build.StandardError}");
            }
            Root = PrepareRoot(Path.Combine(_work, "root"));
            File.WriteAllText(Path.Combine(Root, "etc/jvpn/enable-forwarding"), "pool=10.77.0.0/24\n");
            Command.Run("dpkg", ["--root=" + Root, "--force-not-root", "--force-script-chrootless", "--force-depends", "-i", Deb], TimeSpan.FromMinutes(2));
        }
        catch
        {
            Directory.Delete(_work, recursive: true);
            throw;
        }
    }

    /// <summary>The checkout the package was built from.</summary>
    public string Repository { get; } = "";

    /// <summary>&lt;Version&gt; of Directory.Build.props.</summary>
    public string Version { get; } = "";

    /// <summary>The .deb file.</summary>
    public string Deb { get; } = "";

    /// <summary>The root the package is installed in (its /etc/passwd and /etc/group hold the host's accounts
    /// plus what postinst added).</summary>
    public string Root { get; } = "";

    /// <summary>Skips (or, under CI=true, has already failed) when a prerequisite is missing.</summary>
    public void EnsureInstalled()
    {
        if (_missing is not null)
        {
            Assert.Skip(_missing);
        }
    }

    /// <summary>A new empty directory of the test run for <paramref name="name"/>, on the root's file system
    /// (overlay work directories must be), deleted with the root.</summary>
    public string Scratch(string name)
    {
        EnsureInstalled();
        return Directory.CreateDirectory(Path.Combine(_work!, name)).FullName;
    }

    public void Dispose()
    {
        if (_work is not null)
        {
            Directory.Delete(_work, recursive: true);
        }
    }

    /// <summary>An empty dpkg database plus the passwd/group/shadow files useradd --prefix edits: the host's
    /// accounts (so the jvpn user postinst adds gets ids free on this host, and the flows can run as it), with
    /// locked shadow entries (no host password hash is copied).</summary>
    private static string PrepareRoot(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "var/lib/dpkg/updates"));
        Directory.CreateDirectory(Path.Combine(root, "var/lib/dpkg/info"));
        File.WriteAllText(Path.Combine(root, "var/lib/dpkg/status"), "");
        Directory.CreateDirectory(Path.Combine(root, "etc/jvpn"));
        string[] users = File.ReadAllLines("/etc/passwd");
        string[] groups = File.ReadAllLines("/etc/group");
        File.WriteAllLines(Path.Combine(root, "etc/passwd"), users);
        File.WriteAllLines(Path.Combine(root, "etc/group"), groups);
        File.WriteAllLines(Path.Combine(root, "etc/shadow"), users.Where(l => l.Contains(':', StringComparison.Ordinal)).Select(l => l.Split(':')[0] + ":*::0:99999:7:::"));
        File.WriteAllLines(Path.Combine(root, "etc/gshadow"), groups.Where(l => l.Contains(':', StringComparison.Ordinal)).Select(l => l.Split(':')[0] + ":*::"));
        return root;
    }

    private static string? MissingPrerequisites()
    {
        List<string> missing = Requirements.MissingTunnelBasics();
        if (!File.Exists(Binaries.JvpnDll))
        {
            missing.Add(Binaries.JvpnDll + " (the client)");
        }
        // clang links the NativeAOT jvpn-tunnel (packaging/linux/publish.sh). The flows (PackagedServerFlow,
        // PackagedManagerTests) need unshare, setpriv, mount, mknod, ip, ping and stat; the Depends check needs readelf.
        string[] binaries = ["dpkg", "dpkg-deb", "dpkg-query", "systemd-analyze", "useradd", "dotnet", "clang", "unshare", "setpriv", "mount", "mknod", "ip", "ping", "stat", "readelf"];
        foreach (string binary in binaries)
        {
            if (Binaries.TryFind(binary) is null)
            {
                missing.Add(binary);
            }
        }
        if (!Directory.Exists("/lib/systemd/system"))
        {
            missing.Add("/lib/systemd/system");
        }
        return missing.Count == 0
            ? null
            : $"the .deb tests need root, dpkg, systemd-analyze (package systemd), useradd, dotnet, clang, /dev/net/tun, setpriv/unshare/mount (util-linux, mount), ping and readelf (binutils): missing {string.Join(", ", missing)}";
    }

    private static string ReadVersion(string repo)
    {
        string props = File.ReadAllText(Path.Combine(repo, "Directory.Build.props"));
        int start = props.IndexOf("<Version>", StringComparison.Ordinal) + "<Version>".Length;
        int end = props.IndexOf("</Version>", start, StringComparison.Ordinal);
        return props[start..end].Trim();
    }
}
