using System.Security.Cryptography;
using JumpingVpn.Tunnel.Timers;

namespace JumpingVpn.Tunnel.Device;

/// <summary>Inputs of the protocol core: time, randomness and tunables (sans-I/O: nothing global).</summary>
public sealed class DeviceOptions
{
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Randomness for ephemeral keys, indices, cookie secrets and jitter.</summary>
    public Action<Span<byte>> Random { get; init; } = RandomNumberGenerator.Fill;

    /// <summary>Inner MTU: padding never grows a packet past it (whitepaper §5.4.6).</summary>
    public int Mtu { get; init; } = 1420;

    /// <summary>RekeyAfterTime; only tests shorten it (env JVPN_REKEY_AFTER_SECONDS in the CLI).</summary>
    public long RekeyAfterTimeNs { get; init; } = ProtocolTimes.DefaultRekeyAfterTime;
}
