using System.Runtime.Versioning;
using JumpingVpn.Control.Interface;
using JumpingVpn.Control.Uapi.Transport;

namespace JumpingVpn.Control.Hosting;

/// <summary>The operating systems jvpn tells apart (docs/platform.md §8).</summary>
public enum HostOs
{
    Linux,
    Windows,

    /// <summary>Anything else: commands that need no platform work (keys, config files) still run.</summary>
    Other,
}

/// <summary>
/// The composition root (docs/platform.md §8): the one place that looks at the operating system. It reads the
/// OS once and chooses, per capability, the implementation the rest of jvpn uses; code elsewhere asks
/// <see cref="Current"/> for a capability instead of testing the OS itself (an architecture test pins where
/// OS checks may remain).
/// </summary>
public static class HostComposition
{
    /// <summary>The choices for the OS this process runs on.</summary>
    public static HostCapabilities Current { get; } = For(
        OperatingSystem.IsWindows() ? HostOs.Windows : OperatingSystem.IsLinux() ? HostOs.Linux : HostOs.Other);

    /// <summary>The choices for <paramref name="os"/>, separated so every branch can be checked on one machine.</summary>
    public static HostCapabilities For(HostOs os) => new(os);
}

/// <summary>
/// One choice per platform capability (docs/platform.md §8). The guard attributes tell the platform analyzer
/// what a true value implies, so a capability check guards OS-specific calls the way an OS check would; they hold
/// for <see cref="HostComposition.Current"/>, which is the only instance production code reads.
/// </summary>
public sealed class HostCapabilities
{
    internal HostCapabilities(HostOs os)
    {
        Os = os;
        Uapi = UapiTransports.ForOs(windows: os == HostOs.Windows);
        ConfigDirectory = os == HostOs.Windows
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "jvpn")
            : Config.TunnelConfigParser.DefaultDirectory;
        PosixFileModes = os != HostOs.Windows;
        FileOwnership = os == HostOs.Linux;
        WintunDriver = os == HostOs.Windows;
        NativeNamedPipes = os == HostOs.Windows;
        KillSwitch = IsWindows
            ? new JumpingVpn.Platform.Net.Windows.WfpKillSwitch()
            : os == HostOs.Linux ? new JumpingVpn.Platform.Net.Linux.NftKillSwitch() : null;
    }

    public HostOs Os { get; }

    /// <summary>The kill switch's OS side: an nftables table on Linux (docs/platform.md §4.8), WFP filters on Windows
    /// (§3.4); null where jvpn has none.</summary>
    public JumpingVpn.Platform.Net.KillSwitch.IKillSwitch? KillSwitch { get; }

    /// <summary>Where wg(8)-style clients find an interface's control endpoint: a named pipe on Windows, a Unix
    /// socket in /var/run/wireguard elsewhere.</summary>
    public IUapiTransport Uapi { get; }

    /// <summary>Where a bare interface NAME is looked up: /etc/wireguard, or on Windows %ProgramData%\jvpn
    /// (where packaging/windows/install.ps1 puts configs, readable only by SYSTEM and Administrators).</summary>
    public string ConfigDirectory { get; }

    /// <summary>Files carry POSIX permission bits (mode, umask-style creation modes) that jvpn sets and checks;
    /// false on Windows, where files inherit their folder's ACL.</summary>
    [UnsupportedOSPlatformGuard("windows")]
    public bool PosixFileModes { get; }

    /// <summary>File owner and group ids can be read and set (FileOwner, Linux libc).</summary>
    [SupportedOSPlatformGuard("linux")]
    public bool FileOwnership { get; }

    /// <summary>The Wintun driver is the TUN device (and can be removed by `jvpn service remove-driver`).</summary>
    [SupportedOSPlatformGuard("windows")]
    public bool WintunDriver { get; }

    /// <summary>Named pipes are the OS's own (\\.\pipe\ namespace, pipe ACLs, served-only existence); false where
    /// .NET emulates them with Unix sockets, as the named-pipe transport's tests use them on Linux.</summary>
    [SupportedOSPlatformGuard("windows")]
    public bool NativeNamedPipes { get; }

    /// <summary>Whether this process may configure network interfaces: CAP_NET_ADMIN on Linux, an elevated
    /// Administrator or LocalSystem on Windows, never elsewhere.</summary>
    public bool HasNetAdmin() => Os switch
    {
        HostOs.Linux => JumpingVpn.Platform.Privileges.HasCapNetAdmin(),
        HostOs.Windows => IsWindows && JumpingVpn.Platform.Privileges.IsElevatedAdministrator(),
        _ => false,
    };

    /// <summary>What to do when <see cref="HasNetAdmin"/> is false, phrased for this OS.</summary>
    public string PrivilegeRequirement => Os == HostOs.Windows ? JumpingVpn.Platform.Privileges.WindowsRequirement : JumpingVpn.Platform.Privileges.LinuxRequirement;

    [SupportedOSPlatformGuard("windows")]
    private bool IsWindows => Os == HostOs.Windows;

    /// <summary>The OS-specific steps of bringing an interface up: TUN device, UDP socket mode, addresses,
    /// routes, MTU, DNS, the path watcher and hook shell. Throws on an OS jvpn cannot host interfaces on.</summary>
    internal HostPlatform CreateInterfacePlatform() => HostPlatform.Select(windows: Os == HostOs.Windows, linux: Os == HostOs.Linux);
}
