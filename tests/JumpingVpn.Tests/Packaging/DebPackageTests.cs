using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Packaging;

/// <summary>
/// The .deb installs into a throwaway root, systemd accepts its units, the installed jvpn runs, and the
/// operator's server flow works as the unit's user (<see cref="PackagedServerFlow"/>). One test on
/// purpose: building the self-contained package takes most of a minute. The install uses `dpkg --root`
/// with --force-script-chrootless, so the maintainer scripts run on this host with DPKG_ROOT set (they
/// are written to honour it) and nothing outside the root changes.
/// </summary>
public sealed class DebPackageTests
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(8);

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")] // EnsurePrerequisites skips elsewhere
    public void Deb_InstallsIntoThrowawayRoot_UnitsVerify_ServerFlowRunsAsTheUnitsUser()
    {
        EnsurePrerequisites();
        string repo = RepositoryRoot.Find();
        string work = Directory.CreateTempSubdirectory("jvpn-debtest.").FullName;
        try
        {
            string outDir = Path.Combine(work, "out");
            CommandResult build = Command.Run(Path.Combine(repo, "packaging/linux/build-deb.sh"), ["--arch", "amd64", "--out", outDir], BuildTimeout);
            string deb = build.StandardOutput.Trim().Split('\n')[^1].Trim();
            Assert.True(File.Exists(deb), $"build-deb.sh did not produce {deb}");
            Assert.EndsWith($"jvpn_{ReadVersion(repo)}_amd64.deb", deb, StringComparison.Ordinal);

            string control = Command.Run("dpkg-deb", ["--field", deb]).StandardOutput;
            Assert.Contains("Package: jvpn", control, StringComparison.Ordinal);
            Assert.Contains("Depends: iproute2", control, StringComparison.Ordinal);

            string root = PrepareRoot(Path.Combine(work, "root"));
            // Ask for forwarding + NAT through the flag file, as an admin would before installing.
            File.WriteAllText(Path.Combine(root, "etc/jvpn/enable-forwarding"), "pool=10.66.0.0/24\n");
            Command.Run("dpkg", ["--root=" + root, "--force-not-root", "--force-script-chrootless", "--force-depends", "-i", deb], TimeSpan.FromMinutes(2));

            foreach (string file in new[]
            {
                "usr/bin/jvpn", "usr/lib/jvpn/jvpn", "usr/lib/jvpn/libsodium.so",
                "lib/systemd/system/jvpn@.service", "lib/systemd/system/jvpn-nat.service", "lib/systemd/system/jvpn-manager.service",
                "etc/jvpn/server.conf.example", "etc/jvpn/client.conf.example", "usr/share/doc/jvpn/copyright",
            })
            {
                Assert.True(File.Exists(Path.Combine(root, file)), $"{file} missing from the installed root");
            }
            string status = Command.Run("dpkg-query", ["--admindir=" + Path.Combine(root, "var/lib/dpkg"), "-W", "-f=${Status} ${Conffiles}", "jvpn"]).StandardOutput;
            Assert.Contains("install ok installed", status, StringComparison.Ordinal);
            Assert.Contains("/etc/jvpn/server.conf.example", status, StringComparison.Ordinal);

            // postinst: system user, /etc/jvpn closed to others, forwarding + NAT only because asked.
            Assert.Contains("\njvpn:", "\n" + File.ReadAllText(Path.Combine(root, "etc/passwd")), StringComparison.Ordinal);
            Assert.Equal("750", Command.Run("stat", ["-c", "%a", Path.Combine(root, "etc/jvpn")]).StandardOutput.Trim());
            Assert.Contains("net.ipv4.ip_forward = 1", File.ReadAllText(Path.Combine(root, "etc/sysctl.d/60-jvpn.conf")), StringComparison.Ordinal);
            string nat = File.ReadAllText(Path.Combine(root, "etc/jvpn/nat.nft"));
            Assert.Contains("ip saddr 10.66.0.0/24 ip daddr != 10.66.0.0/24 masquerade", nat, StringComparison.Ordinal);
            // Syntax-check only (-c), in a private network namespace so the host ruleset is never touched.
            if (Binaries.TryFind("nft") is not null && Binaries.TryFind("unshare") is not null)
            {
                Command.Run("unshare", ["-n", Binaries.Find("nft"), "-c", "-f", Path.Combine(root, "etc/jvpn/nat.nft")]);
            }

            VerifyUnits(root);

            CommandResult version = Command.Run(Path.Combine(root, "usr/bin/jvpn"), ["--version"]);
            Assert.StartsWith(ReadVersion(repo), version.StandardOutput.Trim(), StringComparison.Ordinal);
            // The crypto library loads from beside the real binary when run through the /usr/bin symlink.
            string key = Command.Run(Path.Combine(root, "usr/bin/jvpn"), ["genkey"]).StandardOutput;
            string pub = Command.Run(Path.Combine(root, "usr/bin/jvpn"), ["pubkey"], standardInput: key).StandardOutput.Trim();
            Assert.Equal(44, pub.Length);

            PackagedServerFlow.Run(root, work);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>`systemd-analyze verify --root` resolves ExecStart= inside the root (so the installed
    /// /usr/bin/jvpn is what gets checked) but also needs the standard targets there; the host's unit
    /// directory is copied into the root's /usr/lib/systemd/system for that. Unknown keys only warn
    /// (exit code 0), so stderr must be empty too.</summary>
    private static void VerifyUnits(string root)
    {
        string units = Path.Combine(root, "usr/lib/systemd/system");
        Directory.CreateDirectory(units);
        foreach (string hostUnit in Directory.EnumerateFiles("/lib/systemd/system"))
        {
            string target = Path.Combine(units, Path.GetFileName(hostUnit));
            if (!File.Exists(target))
            {
                File.Copy(hostUnit, target);
            }
        }
        string placeholder = Path.Combine(root, "etc/jvpn/jvpn0.conf"); // ConditionPathExists=; `server init` writes the real one
        File.WriteAllText(placeholder, "");
        CommandResult tunnel = Command.TryRun("systemd-analyze", ["verify", "--man=no", "--root=" + root, "jvpn@jvpn0.service"], TimeSpan.FromMinutes(1));
        File.Delete(placeholder);
        Assert.True(tunnel.ExitCode == 0 && tunnel.StandardError.Trim().Length == 0,
            $"systemd-analyze verify jvpn@jvpn0.service: exit {tunnel.ExitCode}\n{tunnel.StandardError}");
        CommandResult manager = Command.TryRun("systemd-analyze", ["verify", "--man=no", "--root=" + root, "jvpn-manager.service"], TimeSpan.FromMinutes(1));
        Assert.True(manager.ExitCode == 0 && manager.StandardError.Trim().Length == 0,
            $"systemd-analyze verify jvpn-manager.service: exit {manager.ExitCode}\n{manager.StandardError}");
        // nft lives on the host, not in the throwaway root: verify the NAT unit by file against the host.
        CommandResult natUnit = Command.TryRun("systemd-analyze", ["verify", "--man=no", Path.Combine(root, "lib/systemd/system/jvpn-nat.service")], TimeSpan.FromMinutes(1));
        Assert.True(natUnit.ExitCode == 0 && natUnit.StandardError.Trim().Length == 0,
            $"systemd-analyze verify jvpn-nat.service: exit {natUnit.ExitCode}\n{natUnit.StandardError}");
    }

    /// <summary>An empty dpkg database plus the passwd/group/shadow files useradd --prefix edits: the host's
    /// accounts (so the jvpn user postinst adds gets ids free on this host, and the server flow can run as
    /// it), with locked shadow entries (no host password hash is copied).</summary>
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

    private static void EnsurePrerequisites()
    {
        var missing = new List<string>();
        if (!OperatingSystem.IsLinux())
        {
            missing.Add("Linux");
        }
        if (!Environment.IsPrivilegedProcess)
        {
            missing.Add("root");
        }
        if (!File.Exists("/dev/net/tun"))
        {
            missing.Add("/dev/net/tun");
        }
        if (!File.Exists(Binaries.JvpnDll))
        {
            missing.Add(Binaries.JvpnDll + " (the client)");
        }
        // The server flow (PackagedServerFlow) needs unshare, setpriv, mount, mknod, ip, ping and stat.
        string[] binaries = ["dpkg", "dpkg-deb", "dpkg-query", "systemd-analyze", "useradd", "dotnet", "unshare", "setpriv", "mount", "mknod", "ip", "ping", "stat"];
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
        if (missing.Count == 0)
        {
            return;
        }
        string message = $"the .deb test needs root, dpkg, systemd-analyze (package systemd), useradd, dotnet, /dev/net/tun, setpriv/unshare/mount (util-linux, mount) and ping: missing {string.Join(", ", missing)}";
        if (Requirements.IsCi)
        {
            throw new InvalidOperationException(message + " (CI=true: failing instead of skipping)");
        }
        Assert.Skip(message);
    }

    private static string ReadVersion(string repo)
    {
        string props = File.ReadAllText(Path.Combine(repo, "Directory.Build.props"));
        int start = props.IndexOf("<Version>", StringComparison.Ordinal) + "<Version>".Length;
        int end = props.IndexOf("</Version>", start, StringComparison.Ordinal);
        return props[start..end].Trim();
    }
}
