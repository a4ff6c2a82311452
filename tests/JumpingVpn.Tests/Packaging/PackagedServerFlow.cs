using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Packaging;

/// <summary>
/// The operator's VPS flow on a .deb installed into a throwaway root: `jvpn server init`, `jvpn server
/// add-peer phone` as root, then the installed jvpn@jvpn0.service's exact ExecStart= as its User=/Group=
/// with its capabilities, and a client brought up from the printed config pings through the tunnel.
///
/// No systemd and no change to the host: every command runs in a private mount namespace (`unshare
/// --mount`) that shows the installed root as the system would see it. /usr is an overlay of the root's
/// usr over the host's (so /usr/bin/jvpn is the packaged binary), /etc an overlay whose upper layer is the
/// root's etc (its passwd/group with the jvpn user, /etc/jvpn as postinst left it; what init/add-peer
/// write lands there, where the test checks owner and mode), /run and /var/log are directories of the
/// test. The service additionally runs inside its own network namespace and sees /dev/net/tun as udev
/// leaves it on Debian (0666, 50-udev-default.rules): the host here may have no udev and a 0600 node, which
/// user jvpn could not open even with CAP_NET_ADMIN (capabilities do not bypass file modes there).
///
/// Emulated from the unit file: ExecStart (with %i), User, Group (supplementary groups from /etc/group),
/// AmbientCapabilities, CapabilityBoundingSet, NoNewPrivileges, RuntimeDirectory(+Mode), LogsDirectory,
/// PrivateTmp, ProtectHome, and systemd's environment (HOME, USER, PATH, RUNTIME_DIRECTORY, ...); /usr
/// and /etc are read-only for the service. Not emulated: the rest of ProtectSystem=strict (/var, /opt
/// stay writable), DevicePolicy/DeviceAllow, RestrictAddressFamilies, ProtectControlGroups,
/// ProtectKernelModules, Restart=.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class PackagedServerFlow
{
    private const string Instance = "jvpn0";
    private const string ServerTunnelV4 = "10.77.0.1"; // `jvpn server init`'s default pool 10.77.0.0/24
    private static readonly TimeSpan Ready = TimeSpan.FromSeconds(30);

    /// <summary>Mounts the installed system's view, then execs the command. $1 root, $2 work dir, $3
    /// "operator" (root, writable /etc) or "service" (read-only /usr and /etc, /dev/net/tun 0666,
    /// PrivateTmp, ProtectHome).</summary>
    private const string InstalledView = """
        set -eu
        root=$1 work=$2 mode=$3
        shift 3
        mount -t overlay jvpn-usr -o "lowerdir=$root/usr:/usr" /usr
        if [ "$mode" = service ]; then
            mount -t overlay jvpn-etc -o "lowerdir=$root/etc:/etc" /etc
        else
            mount -t overlay jvpn-etc -o "lowerdir=/etc,upperdir=$root/etc,workdir=$work/etc-work" /etc
        fi
        mount --bind "$work/run" /run
        mount --bind "$work/log" /var/log
        if [ "$mode" = service ]; then
            mount --bind "$work/tun" /dev/net/tun
            mount -t tmpfs -o mode=1777 jvpn-tmp /tmp
            for d in /home /root; do
                if [ -d "$d" ]; then mount -t tmpfs -o mode=000 jvpn-home "$d"; fi
            done
        fi
        exec "$@"
        """;

    private readonly string _root;
    private readonly string _work;

    private PackagedServerFlow(string root, string work)
    {
        _root = root;
        _work = work;
    }

    /// <summary>Runs the flow against the package installed in <paramref name="root"/>; scratch files go
    /// to <paramref name="work"/> (deleted by the caller).</summary>
    public static void Run(string root, string work)
    {
        new PackagedServerFlow(root, work).Run();
    }

    private void Run()
    {
        foreach (string dir in new[] { "etc-work", "run", "log" })
        {
            Directory.CreateDirectory(Path.Combine(_work, dir));
        }
        Command.Run("mknod", ["-m", "666", Path.Combine(_work, "tun"), "c", "10", "200"]);
        ServiceUnit unit = ServiceUnit.Parse(File.ReadAllText(Path.Combine(_root, "lib/systemd/system/jvpn@.service")), Instance);
        (string uid, string gid) = Account(unit.User, unit.Group ?? throw new InvalidOperationException("jvpn@.service has no Group="));
        string conf = Path.Combine(_root, "etc/jvpn", Instance + ".conf");
        string clientName = "jvph" + NetNs.RandomHex(3);
        string clientConf = Path.Combine(_work, clientName + ".conf");

        using TwoHostTopology topology = TwoHostTopology.Create();
        try
        {
            // The operator, as root: init, then the first client.
            CommandResult init = Operator("jvpn", "server", "init", "--endpoint", topology.ServerUnderlayV4);
            string afterInit = Stat(conf);
            CommandResult added = Operator("jvpn", "server", "add-peer", "phone");
            Assert.Contains("[Peer]", added.StandardOutput, StringComparison.Ordinal);
            File.WriteAllText(clientConf, added.StandardOutput);
            File.SetUnixFileMode(clientConf, UnixFileMode.UserRead | UnixFileMode.UserWrite);

            // The service first: if it cannot read the config, its own error is the failure message.
            ManagedProcess server = StartService(topology.Server, unit, uid, gid);
            string socket = Path.Combine(_work, "run", unit.RuntimeDirectory, Instance + ".sock");
            ReadyWait.UntilSocketAnswers(server, socket, Ready, "the UAPI socket");
            Assert.Contains($"Wrote /etc/jvpn/{Instance}.conf", init.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("group jvpn", init.StandardOutput, StringComparison.Ordinal);
            Assert.Equal($"0:{gid}:640", afterInit);
            Assert.Equal($"0:{gid}:640", Stat(conf));
            Assert.Equal($"{uid}:{gid}:600", Stat(socket));
            unit.AssertRunsAs(server.Id, uid, gid);

            ManagedProcess client = topology.Client.Start(Binaries.Dotnet(), [Binaries.JvpnDll, "up", clientConf]);
            ReadyWait.UntilSocketAnswers(client, $"/run/wireguard/{clientName}.sock", Ready, "the client's UAPI socket");
            Assert.True(Ping.WaitForReply(topology.Client, ServerTunnelV4, Ready),
                $"no ping reply through the packaged server\n{server.Describe()}\n{client.Describe()}");

            // More peers while it runs: add-peer reaches the running service over its UAPI socket.
            CommandResult second = Operator("jvpn", "server", "add-peer", "laptop");
            Assert.Contains($"to the running interface {Instance}", second.StandardError, StringComparison.Ordinal);
            Assert.Equal($"0:{gid}:640", Stat(conf));
            CommandResult status = Operator("jvpn", "status", Instance);
            Assert.Contains($"endpoint: {topology.ClientUnderlayV4}:", status.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("allowed ips: 10.77.0.3/32", status.StandardOutput, StringComparison.Ordinal);
            Assert.False(server.HasExited, server.Describe());
        }
        finally
        {
            File.Delete($"/run/wireguard/{clientName}.sock");
        }
    }

    /// <summary>What systemd would do for the unit: the runtime and log directories owned by the user, then
    /// ExecStart as User/Group with the unit's capability sets and environment, in <paramref name="ns"/>.</summary>
    private ManagedProcess StartService(NetNs ns, ServiceUnit unit, string uid, string gid)
    {
        string runtime = Path.Combine(_work, "run", unit.RuntimeDirectory);
        Directory.CreateDirectory(runtime);
        Command.Run("chown", [$"{uid}:{gid}", runtime]);
        Command.Run("chmod", [unit.RuntimeDirectoryMode, runtime]);
        string logs = Path.Combine(_work, "log", unit.LogsDirectory);
        Directory.CreateDirectory(logs);
        Command.Run("chown", [$"{uid}:{gid}", logs]);
        Command.Run("chmod", ["755", logs]);

        List<string> setpriv =
        [
            Binaries.Find("setpriv"), "--reuid=" + unit.User, "--regid=" + unit.Group!, "--init-groups",
            "--inh-caps=" + ServiceUnit.SetprivCaps(unit.AmbientCapabilities), "--ambient-caps=" + ServiceUnit.SetprivCaps(unit.AmbientCapabilities),
            "--bounding-set=-all," + ServiceUnit.SetprivCaps(unit.BoundingSet),
        ];
        if (unit.NoNewPrivileges)
        {
            setpriv.Add("--no-new-privs");
        }
        string[] environment =
        [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin", "HOME=/nonexistent", "USER=" + unit.User,
            "LOGNAME=" + unit.User, "SHELL=/usr/sbin/nologin", "LANG=C.UTF-8",
            "RUNTIME_DIRECTORY=/run/" + unit.RuntimeDirectory, "LOGS_DIRECTORY=/var/log/" + unit.LogsDirectory,
        ];
        return ns.Start("unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", InstalledView, "sh", _root, _work, "service",
            .. setpriv, "--", "/usr/bin/env", "-i", .. environment, .. unit.ExecStart]);
    }

    /// <summary>A command as the operator runs it after installing: root, the installed /usr/bin/jvpn and
    /// /etc, host network namespace (it only writes files and talks to the UAPI socket).</summary>
    private CommandResult Operator(params string[] command)
    {
        CommandResult r = Command.TryRun("unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", InstalledView, "sh", _root, _work, "operator",
            "/usr/bin/env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", .. command], TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 0, $"{string.Join(' ', command)} exited {r.ExitCode}\n{r.StandardError}");
        Assert.DoesNotContain("   at ", r.StandardError, StringComparison.Ordinal);
        return r;
    }

    private (string Uid, string Gid) Account(string user, string group)
    {
        string[] passwd = File.ReadAllLines(Path.Combine(_root, "etc/passwd")).Select(l => l.Split(':')).First(f => f[0] == user);
        string[] groupEntry = File.ReadAllLines(Path.Combine(_root, "etc/group")).Select(l => l.Split(':')).First(f => f[0] == group);
        return (passwd[2], groupEntry[2]);
    }

    private static string Stat(string path) => Command.Run("stat", ["-c", "%u:%g:%a", path]).StandardOutput.Trim();
}
