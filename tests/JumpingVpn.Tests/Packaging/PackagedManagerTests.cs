using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Packaging;

/// <summary>
/// The issue's "done means" on the installed package (docs/ui.md "Tests"): the packaged jvpn-manager.service's
/// exact ExecStart= runs as its User= with its capability sets, a desktop user in group jvpn gets a working
/// sign-in link from `jvpn ui --print`, a user outside the group gets one line naming the fix and no link, and
/// SIGTERM stops the manager cleanly.
///
/// No systemd and no change to the host, as in <see cref="PackagedServerFlow"/>: every command runs in a private
/// mount namespace that shows the installed root as the system would (/usr and /etc read-only overlays of the
/// root's over the host's, /run a directory of the test). The manager additionally runs in a network namespace of
/// its own (`jvmgr...`), so its UI port on loopback never touches the host's, and the test's HTTP requests are
/// made from sockets created in that namespace.
///
/// Emulated from the unit file: ExecStart, User (and, with no Group=, the user's primary group and
/// supplementary groups), AmbientCapabilities, CapabilityBoundingSet, NoNewPrivileges, RuntimeDirectory (both
/// directories, with their mode), StateDirectory (+Mode), LogsDirectory, ReadWritePaths=/etc/jvpn,
/// ProtectSystem=strict (the root file system and /run read-only; /etc/jvpn and the runtime, state and logs
/// directories writable), PrivateTmp, ProtectHome (/root inaccessible to a root without CAP_DAC_OVERRIDE), systemd's
/// environment (HOME, USER, SHELL, RUNTIME_DIRECTORY, STATE_DIRECTORY, LOGS_DIRECTORY). Not emulated:
/// DevicePolicy/DeviceAllow (the service sees /dev/net/tun as udev leaves it on Debian, 0666),
/// RestrictAddressFamilies, ProtectControlGroups, ProtectKernelModules, KillMode, Restart=.
/// </summary>
[Collection(InstalledDebCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")] // InstalledDeb skips elsewhere
public sealed partial class PackagedManagerTests(InstalledDeb deb)
{
    private const string DesktopUser = "jvdesk";
    private const string OtherUser = "jvother";
    private static readonly TimeSpan Ready = TimeSpan.FromSeconds(30);

    /// <summary>Mounts the installed system's view, then execs the command. $1 root, $2 work dir, $3 "manager"
    /// (the unit's sandbox) or "desktop" (a user's session: the installed /usr, /etc and /run only), $4 the
    /// unit's StateDirectory, $5 its LogsDirectory, $6 its RuntimeDirectory list. ProtectSystem=strict leaves
    /// only /dev, /proc and /sys writable besides the unit's directories and ReadWritePaths=.</summary>
    private const string InstalledView = """
        set -eu
        root=$1 work=$2 mode=$3 state=$4 logs=$5 runtime=$6
        shift 6
        mount -t overlay jvpn-usr -o "lowerdir=$root/usr:/usr" /usr
        mount -t overlay jvpn-etc -o "lowerdir=$root/etc:/etc" /etc
        mount --bind "$work/run" /run
        if [ "$mode" = manager ]; then
            mount -o remount,bind,ro /run
            for d in $runtime; do
                mount --bind "$work/run/$d" "/run/$d"
            done
            mount --bind "$root/etc/jvpn" /etc/jvpn
            mount -t overlay jvpn-var-lib -o "lowerdir=$work/var-lib:/var/lib" /var/lib
            mount --bind "$work/var-lib/$state" "/var/lib/$state"
            mount -t overlay jvpn-var-log -o "lowerdir=$work/var-log:/var/log" /var/log
            mount --bind "$work/var-log/$logs" "/var/log/$logs"
            mount --bind "$work/tun" /dev/net/tun
            mount -o remount,bind,ro /
            mount -t tmpfs -o mode=1777 jvpn-tmp /tmp
            for d in /home /root; do
                if [ -d "$d" ]; then mount -t tmpfs -o mode=000 jvpn-home "$d"; fi
            done
        fi
        exec "$@"
        """;

    [GeneratedRegex(@"UI at http://127\.0\.0\.1:(\d+)/")]
    private static partial Regex UiLine();

    [Fact]
    public async Task Manager_runs_as_its_unit_says_signs_in_group_jvpn_only_and_stops_on_SIGTERM()
    {
        deb.EnsureInstalled();
        CancellationToken cancel = TestContext.Current.CancellationToken;
        string root = deb.Root;
        string work = deb.Scratch("manager-flow");
        ServiceUnit unit = ServiceUnit.Parse(File.ReadAllText(Path.Combine(root, "lib/systemd/system/jvpn-manager.service")), "");
        Assert.Null(unit.Group); // the user's primary group, as systemd does without Group=
        string[] account = Entry(root, "passwd", unit.User);
        string jvpnGid = Entry(root, "group", "jvpn")[2];

        // A desktop user who did `sudo usermod -aG jvpn USER` (and logged in again), and one who did not.
        AddUser(root, DesktopUser, ["--groups", "jvpn"]);
        AddUser(root, OtherUser, []);
        Assert.Contains(DesktopUser, Entry(root, "group", "jvpn")[3].Split(','));
        Assert.DoesNotContain(OtherUser, Entry(root, "group", "jvpn")[3].Split(','));

        string socket = Path.Combine(work, "run", "jvpn", "manager.sock");
        string desk = Path.Combine(root, "etc/jvpn/jvdesk0.conf");
        using NetNs ns = NetNs.Create("mgr");
        try
        {
            ManagedProcess manager = StartManager(ns, unit, account, root, work);
            manager.WaitForOutput("UI at ", Ready, "the packaged jvpn manager");
            int port = int.Parse(UiLine().Match(manager.Output).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(7321, port); // the unit relies on the documented default port
            unit.AssertRunsAs(manager.Id, account[2], account[3]);
            Assert.Contains("sign-in socket /run/jvpn/manager.sock", manager.Output, StringComparison.Ordinal);
            Assert.Equal($"0:{jvpnGid}:660", Stat(socket)); // chown to group jvpn needs the unit's CAP_CHOWN

            // The member: a link, which signs in once, and the cookie opens the API.
            CommandResult ui = AsDesktopUser(root, work, DesktopUser, "/usr/bin/jvpn", "ui", "--print");
            Assert.True(ui.ExitCode == 0, $"jvpn ui --print as {DesktopUser} (group jvpn): exit {ui.ExitCode}\n{ui.StandardError}\n{manager.Describe()}");
            string link = ui.StandardOutput.Trim();
            Assert.StartsWith($"http://127.0.0.1:{port}/auth?token=", link, StringComparison.Ordinal);

            var uiBase = new Uri($"http://127.0.0.1:{port}/");
            using HttpClient http = NamespaceHttp(ns);
            string cookie;
            using (HttpResponseMessage signIn = await http.GetAsync(new Uri(link), cancel))
            {
                Assert.Equal(HttpStatusCode.SeeOther, signIn.StatusCode);
                Assert.Equal("/", signIn.Headers.Location?.OriginalString);
                string setCookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie"));
                Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
                Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
                cookie = setCookie[..setCookie.IndexOf(';', StringComparison.Ordinal)];
                Assert.StartsWith("jvpn_ui=", cookie, StringComparison.Ordinal);
            }
            using (HttpResponseMessage again = await http.GetAsync(new Uri(link), cancel))
            {
                Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode); // one-time
            }
            Assert.Equal(HttpStatusCode.Unauthorized, (await Send(http, uiBase, HttpMethod.Get, "api/tunnels/list", null, null, cancel)).Status);
            (HttpStatusCode listed, string list) = await Send(http, uiBase, HttpMethod.Get, "api/tunnels/list", cookie, null, cancel);
            Assert.True(listed == HttpStatusCode.OK, $"GET /api/tunnels/list with the cookie: {(int)listed} {list}");
            Assert.Equal(JsonValueKind.Array, Json(list).GetProperty("tunnels").ValueKind);

            // What the sandbox must allow: a config written into /etc/jvpn (ReadWritePaths) and the start-at-boot
            // state into /var/lib/jvpn (StateDirectory), by a root without CAP_DAC_OVERRIDE.
            string own = await NewKeyConfig(http, uiBase, cookie, cancel);
            string peer = Json(await Post(http, uiBase, "api/tunnels/new", cookie, "{}", cancel)).GetProperty("publicKey").GetString()!;
            string config = $"[Interface]\nPrivateKey = {own}\nAddress = 10.99.0.2/32\n\n[Peer]\nPublicKey = {peer}\nEndpoint = 192.0.2.1:51820\nAllowedIPs = 10.99.0.0/24\n";
            string imported = await Post(http, uiBase, "api/tunnels/import", cookie,
                JsonSerializer.Serialize(new { files = new[] { new { fileName = "jvdesk0.conf", text = config } } }), cancel);
            Assert.True(Json(imported).GetProperty("results")[0].GetProperty("ok").GetBoolean(), imported);
            _ = await Post(http, uiBase, "api/tunnels/startatboot", cookie, JsonSerializer.Serialize(new { name = "jvdesk0", on = true }), cancel);
            Assert.Equal("0:0:600", Stat(desk));
            Assert.Contains("jvdesk0", File.ReadAllText(Path.Combine(work, "var-lib", unit.StateDirectory!, "manager-state.json")), StringComparison.Ordinal);
            (_, list) = await Send(http, uiBase, HttpMethod.Get, "api/tunnels/list", cookie, null, cancel);
            Assert.Contains("\"name\":\"jvdesk0\"", list, StringComparison.Ordinal);

            // Outside group jvpn: one line with the fix, no link.
            CommandResult refused = AsDesktopUser(root, work, OtherUser, "/usr/bin/jvpn", "ui", "--print");
            Assert.Equal(4, refused.ExitCode);
            Assert.Equal("", refused.StandardOutput.Trim());
            Assert.Single(refused.StandardError.Trim().Split('\n'));
            Assert.Contains("members of group jvpn", refused.StandardError, StringComparison.Ordinal);
            Assert.Contains("usermod -aG jvpn", refused.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", refused.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain("token", refused.StandardError, StringComparison.Ordinal);

            // SIGTERM (systemctl stop): exit 0, the socket removed, nothing left in the namespace.
            manager.Signal();
            Assert.True(manager.WaitForExit(TimeSpan.FromSeconds(20)), $"no exit 20 s after SIGTERM\n{manager.Describe()}");
            Assert.True(manager.ExitCode == 0, manager.Describe());
            Assert.False(File.Exists(socket), $"{socket} left behind");
            Assert.Equal("", Command.Run("ip", ["netns", "pids", ns.Name]).StandardOutput.Trim());
        }
        finally
        {
            File.Delete(desk);
        }
    }

    /// <summary>What systemd would do for the unit: its runtime, state and logs directories, then ExecStart as
    /// User with the unit's capability sets and environment, inside <paramref name="ns"/>.</summary>
    private static ManagedProcess StartManager(NetNs ns, ServiceUnit unit, string[] account, string root, string work)
    {
        foreach (string dir in unit.RuntimeDirectories)
        {
            MakeDirectory(Path.Combine(work, "run", dir), account, unit.RuntimeDirectoryMode);
        }
        string state = unit.StateDirectory ?? throw new InvalidOperationException("jvpn-manager.service has no StateDirectory=");
        MakeDirectory(Path.Combine(work, "var-lib", state), account, unit.StateDirectoryMode);
        MakeDirectory(Path.Combine(work, "var-log", unit.LogsDirectory), account, "0755");
        Command.Run("mknod", ["-m", "666", Path.Combine(work, "tun"), "c", "10", "200"]);

        List<string> setpriv =
        [
            Binaries.Find("setpriv"), "--reuid=" + unit.User, "--regid=" + account[3], "--init-groups",
            "--inh-caps=" + ServiceUnit.SetprivCaps(unit.AmbientCapabilities), "--ambient-caps=" + ServiceUnit.SetprivCaps(unit.AmbientCapabilities),
            "--bounding-set=-all," + ServiceUnit.SetprivCaps(unit.BoundingSet),
        ];
        if (unit.NoNewPrivileges)
        {
            setpriv.Add("--no-new-privs");
        }
        string[] environment =
        [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin", "HOME=" + account[5], "USER=" + unit.User,
            "LOGNAME=" + unit.User, "SHELL=" + account[6], "LANG=C.UTF-8",
            "RUNTIME_DIRECTORY=" + string.Join(':', unit.RuntimeDirectories.Select(d => "/run/" + d)),
            "STATE_DIRECTORY=/var/lib/" + state, "LOGS_DIRECTORY=/var/log/" + unit.LogsDirectory,
        ];
        return ns.Start("unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", InstalledView, "sh", root, work, "manager", state, unit.LogsDirectory, string.Join(' ', unit.RuntimeDirectories),
            .. setpriv, "--", "/usr/bin/env", "-i", .. environment, .. unit.ExecStart]);
    }

    /// <summary>A command as <paramref name="user"/> runs it in a desktop session: the installed /usr/bin/jvpn,
    /// the user's groups from the installed /etc/group (as at login), the host's network namespace.</summary>
    private static CommandResult AsDesktopUser(string root, string work, string user, params string[] command) =>
        Command.TryRun("unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", InstalledView, "sh", root, work, "desktop", "-", "-", "-",
            Binaries.Find("setpriv"), "--reuid=" + user, "--regid=" + user, "--init-groups", "--",
            "/usr/bin/env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/nonexistent", "USER=" + user, "LOGNAME=" + user, "LANG=C.UTF-8", .. command],
            TimeSpan.FromSeconds(60));

    /// <summary>An HTTP client whose connections are sockets created inside <paramref name="ns"/>, so 127.0.0.1 is
    /// the manager's loopback, not the host's.</summary>
    private static HttpClient NamespaceHttp(NetNs ns)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            ConnectCallback = async (context, cancel) =>
            {
                Socket socket = NamespaceSocket.Create(ns, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    await socket.ConnectAsync(IPAddress.Parse(context.DnsEndPoint.Host), context.DnsEndPoint.Port, cancel);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler, disposeHandler: true) { Timeout = TimeSpan.FromSeconds(15) };
    }

    private static async Task<(HttpStatusCode Status, string Body)> Send(HttpClient http, Uri uiBase, HttpMethod method, string path, string? cookie, string? json, CancellationToken cancel)
    {
        using var request = new HttpRequestMessage(method, new Uri(uiBase, path));
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }
        if (json is not null)
        {
            // A change must come from the UI's own origin (docs/ui.md "Security").
            request.Headers.Add("Origin", uiBase.GetLeftPart(UriPartial.Authority));
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        using HttpResponseMessage response = await http.SendAsync(request, cancel);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cancel));
    }

    private static async Task<string> Post(HttpClient http, Uri uiBase, string path, string cookie, string json, CancellationToken cancel)
    {
        (HttpStatusCode status, string body) = await Send(http, uiBase, HttpMethod.Post, path, cookie, json, cancel);
        Assert.True((int)status is >= 200 and < 300, $"POST /{path}: {(int)status} {body}");
        return body;
    }

    /// <summary>The private key of the manager's "new tunnel" template (generated server-side).</summary>
    private static async Task<string> NewKeyConfig(HttpClient http, Uri uiBase, string cookie, CancellationToken cancel)
    {
        string text = Json(await Post(http, uiBase, "api/tunnels/new", cookie, "{}", cancel)).GetProperty("text").GetString()!;
        string line = text.Split('\n').First(l => l.StartsWith("PrivateKey = ", StringComparison.Ordinal));
        return line["PrivateKey = ".Length..].Trim();
    }

    private static JsonElement Json(string text)
    {
        using JsonDocument document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    private static void AddUser(string root, string name, string[] extra) =>
        Command.Run("useradd", ["--prefix", root, "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", .. extra, name]);

    /// <summary>The fields of <paramref name="name"/>'s line in the installed root's /etc/<paramref name="file"/>.</summary>
    private static string[] Entry(string root, string file, string name) =>
        File.ReadAllLines(Path.Combine(root, "etc", file)).Select(l => l.Split(':')).First(f => f[0] == name);

    private static void MakeDirectory(string path, string[] account, string mode)
    {
        Directory.CreateDirectory(path);
        Command.Run("chown", [$"{account[2]}:{account[3]}", path]);
        Command.Run("chmod", [mode, path]);
    }

    private static string Stat(string path) => Command.Run("stat", ["-c", "%u:%g:%a", path]).StandardOutput.Trim();
}
