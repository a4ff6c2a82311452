namespace JumpingVpn.Control.Uapi;

/// <summary>
/// The seam between the UAPI socket and whatever owns the WireGuard device. <see cref="UapiServer"/>
/// serialises its calls (never two at once from the socket), so an implementation only has to be safe
/// against its own data-plane threads.
/// </summary>
public interface IUapiDevice
{
    /// <summary>A consistent copy of the current configuration and counters.</summary>
    UapiDeviceSnapshot GetSnapshot();

    /// <summary>
    /// Applies a set request in order. Returns <see cref="UapiResult.Ok"/> or an error with a
    /// <see cref="UapiErrno"/> value; like wireguard-go, changes made before the failing one may stay applied.
    /// </summary>
    UapiResult Apply(UapiSetRequest request);
}

/// <summary>The outcome of a UAPI operation.</summary>
/// <param name="Errno">The value sent back as <c>errno=</c>: 0 on success, otherwise a negative errno
/// (see <see cref="UapiErrno"/>).</param>
/// <param name="Message">Why it failed, for the log only; never sent on the wire.</param>
public readonly record struct UapiResult(int Errno, string Message)
{
    public static UapiResult Ok => new(UapiErrno.None, string.Empty);

    public bool IsSuccess => Errno == UapiErrno.None;

    public static UapiResult Error(int errno, string message) => new(errno, message);
}
