using JumpingVpn.Platform.Interop.Linux;

namespace JumpingVpn.Platform.Udp;

/// <summary>
/// Start-up probes for UDP segmentation offloads. wireguard-go does the same (docs/data-plane.md §1.4): GSO is
/// usable when getsockopt(UDP_SEGMENT) is known to the kernel (≥ 4.18), GRO when setsockopt(UDP_GRO)
/// is accepted (≥ 5.0). JVPN_DISABLE_GSO=1 / JVPN_DISABLE_GRO=1 force the fallbacks for tests and
/// A/B measurements.
/// </summary>
internal static unsafe class UdpOffloads
{
    public const string DisableGsoVariable = "JVPN_DISABLE_GSO";
    public const string DisableGroVariable = "JVPN_DISABLE_GRO";

    public static bool DisabledByEnvironment(string variable) => IsTruthy(Environment.GetEnvironmentVariable(variable));

    internal static bool IsTruthy(string? value) =>
        value is not null && (value == "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase) || value.Equals("yes", StringComparison.OrdinalIgnoreCase));

    public static bool ProbeGso(int fd)
    {
        int value = 0;
        uint length = sizeof(int);
        return LibC.GetSockOpt(fd, LibC.SOL_UDP, LibC.UDP_SEGMENT, &value, &length) == 0;
    }

    /// <summary>Turns UDP_GRO on or off; false when the kernel rejects the option.</summary>
    public static bool SetGro(int fd, bool on)
    {
        int value = on ? 1 : 0;
        return LibC.SetSockOpt(fd, LibC.SOL_UDP, LibC.UDP_GRO, &value, sizeof(int)) == 0;
    }
}
