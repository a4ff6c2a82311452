using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Packaging;

/// <summary>
/// The .deb (built and installed into a throwaway root by <see cref="InstalledDeb"/>) carries what it should,
/// its maintainer scripts did their part, systemd accepts its units, the installed jvpn runs, and the
/// operator's server flow works as the unit's user (<see cref="PackagedServerFlow"/>).
/// </summary>
[Collection(InstalledDebCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")] // InstalledDeb skips elsewhere
public sealed class DebPackageTests(InstalledDeb deb)
{
    [Fact]
    public void Deb_InstallsIntoThrowawayRoot_UnitsVerify_ServerFlowRunsAsTheUnitsUser()
    {
        deb.EnsureInstalled();
        string root = deb.Root;
        Assert.EndsWith($"jvpn_{deb.Version}_amd64.deb", deb.Deb, StringComparison.Ordinal);

        string control = Command.Run("dpkg-deb", ["--field", deb.Deb]).StandardOutput;
        Assert.Contains("Package: jvpn", control, StringComparison.Ordinal);
        AssertDeclaresWhatItNeeds(deb.Deb, root);

        foreach (string file in new[]
        {
            "usr/bin/jvpn", "usr/lib/jvpn/jvpn", "usr/lib/jvpn/jvpn-tunnel", "usr/lib/jvpn/libsodium.so",
            "lib/systemd/system/jvpn@.service", "lib/systemd/system/jvpn-nat.service", "lib/systemd/system/jvpn-manager.service",
            "etc/jvpn/server.conf.example", "etc/jvpn/client.conf.example", "usr/share/doc/jvpn/copyright",
        })
        {
            Assert.True(File.Exists(Path.Combine(root, file)), $"{file} missing from the installed root");
        }
        string status = Command.Run("dpkg-query", ["--admindir=" + Path.Combine(root, "var/lib/dpkg"), "-W", "-f=${Status} ${Conffiles}", "jvpn"]).StandardOutput;
        Assert.Contains("install ok installed", status, StringComparison.Ordinal);
        Assert.Contains("/etc/jvpn/server.conf.example", status, StringComparison.Ordinal);

        // postinst: system user, /etc/jvpn closed to others, forwarding + NAT only because asked (InstalledDeb
        // wrote /etc/jvpn/enable-forwarding before the install).
        Assert.Contains("\njvpn:", "\n" + File.ReadAllText(Path.Combine(root, "etc/passwd")), StringComparison.Ordinal);
        Assert.Equal("750", Command.Run("stat", ["-c", "%a", Path.Combine(root, "etc/jvpn")]).StandardOutput.Trim());
        Assert.Contains("net.ipv4.ip_forward = 1", File.ReadAllText(Path.Combine(root, "etc/sysctl.d/60-jvpn.conf")), StringComparison.Ordinal);
        string nat = File.ReadAllText(Path.Combine(root, "etc/jvpn/nat.nft"));
        Assert.Contains("ip saddr 10.77.0.0/24 ip daddr != 10.77.0.0/24 masquerade", nat, StringComparison.Ordinal);
        // Syntax-check only (-c), in a private network namespace so the host ruleset is never touched.
        if (Binaries.TryFind("nft") is not null && Binaries.TryFind("unshare") is not null)
        {
            Command.Run("unshare", ["-n", Binaries.Find("nft"), "-c", "-f", Path.Combine(root, "etc/jvpn/nat.nft")]);
        }

        VerifyUnits(root);

        CommandResult version = Command.Run(Path.Combine(root, "usr/bin/jvpn"), ["--version"]);
        Assert.StartsWith(deb.Version, version.StandardOutput.Trim(), StringComparison.Ordinal);
        // The crypto library loads from beside the real binary when run through the /usr/bin symlink.
        string key = Command.Run(Path.Combine(root, "usr/bin/jvpn"), ["genkey"]).StandardOutput;
        string pub = Command.Run(Path.Combine(root, "usr/bin/jvpn"), ["pubkey"], standardInput: key).StandardOutput.Trim();
        Assert.Equal(44, pub.Length);

        PackagedServerFlow.Run(root, deb.Scratch("server-flow"));
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

    /// <summary>
    /// The control file (as `dpkg-deb -I` shows it) depends on every package the installed binaries need: each
    /// NEEDED library of the ELF files in /usr/lib/jvpn is either shipped beside them or belongs (`dpkg -S` on this
    /// host) to a package named in Depends; plus iproute2 (ip) and libssl3, which the runtime loads with dlopen.
    /// nftables is recommended, not required: only the opt-in kill switch and NAT unit use it.
    /// </summary>
    private static void AssertDeclaresWhatItNeeds(string debFile, string root)
    {
        string info = Command.Run("dpkg-deb", ["-I", debFile]).StandardOutput;
        string[] depends = Field(info, "Depends");
        string[] recommends = Field(info, "Recommends");
        Assert.Contains("iproute2", depends);
        Assert.Contains("libssl3", depends);
        Assert.Contains("nftables", recommends);
        Assert.DoesNotContain("nftables", depends);

        string libDir = Path.Combine(root, "usr/lib/jvpn");
        var missing = new List<string>();
        foreach (string file in Directory.EnumerateFiles(libDir))
        {
            CommandResult elf = Command.TryRun("readelf", ["-d", file]);
            if (elf.ExitCode != 0)
            {
                continue; // not an ELF file
            }
            foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(elf.StandardOutput, @"\(NEEDED\)\s+Shared library: \[(?<lib>[^\]]+)\]"))
            {
                string lib = m.Groups["lib"].Value;
                if (File.Exists(Path.Combine(libDir, lib)))
                {
                    continue;
                }
                // "libstdc++6:amd64: /usr/lib/x86_64-linux-gnu/libstdc++.so.6" -> libstdc++6
                CommandResult owner = Command.TryRun("dpkg", ["-S", "*/" + lib]);
                string[] owners = owner.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                    .Select(l => l.Split(':')[0].Trim()).Distinct().ToArray();
                if (owners.Length == 0 || !owners.Any(depends.Contains))
                {
                    missing.Add($"{Path.GetFileName(file)} needs {lib} (from {(owners.Length == 0 ? "no installed package" : string.Join("/", owners))})");
                }
            }
        }
        Assert.True(missing.Count == 0, "Depends (" + string.Join(", ", depends) + ") lacks: " + string.Join("; ", missing));
    }

    /// <summary>The package names of a control field (alternatives and version constraints dropped to names).</summary>
    private static string[] Field(string info, string name)
    {
        string? line = info.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.Ordinal));
        Assert.True(line is not null, $"dpkg-deb -I shows no {name} field:\n{info}");
        return line![(name.Length + 1)..].Split([',', '|'], StringSplitOptions.RemoveEmptyEntries)
            .Select(d => d.Trim().Split(' ')[0]).ToArray();
    }
}
