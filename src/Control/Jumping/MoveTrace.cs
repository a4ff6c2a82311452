using JumpingVpn.Control.Sessions;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Jumping;

/// <summary>
/// Per-step trace of a session moving between cluster nodes (docs/cluster.md "Drain", "Where the time goes"):
/// one debug log line per step (`JVPN_LOG=debug`), stamped with the monotonic clock in microseconds. Every
/// process on one machine reads the same monotonic clock, so the lines of the draining node, the target node
/// and the client merge into one timeline (the drain E2E test does). Nothing is formatted unless debug
/// logging is on; the steps are control-plane events (a few per move), never per packet.
/// </summary>
internal static class MoveTrace
{
    /// <summary>The prefix the E2E test looks for.</summary>
    public const string Marker = "move-trace";

    public static bool On(NodeContext context) => context.Logger.IsEnabled(LogLevel.Debug);

    /// <summary>Step <paramref name="step"/> of session <paramref name="id"/> now, or at <paramref name="atNs"/> (a device timestamp).</summary>
    public static void Step(NodeContext context, string step, SessionId id, long atNs = long.MinValue, string detail = "")
    {
        if (!On(context))
        {
            return;
        }
        long ns = atNs == long.MinValue ? context.Device.NowNs() : atNs;
        context.Logger.LogDebug("{Marker} {Step} session={Session} mono_us={MonoUs} {Detail}", Marker, step, id, ns / 1000, detail);
    }
}
