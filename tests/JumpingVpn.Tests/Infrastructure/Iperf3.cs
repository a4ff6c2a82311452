using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace JumpingVpn.Tests.Infrastructure;

internal sealed record Iperf3Result(double SentBitsPerSecond, double ReceivedBitsPerSecond, string Json)
{
    public double ReceivedMbps => ReceivedBitsPerSecond / 1e6;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{ReceivedMbps:0.0} Mbit/s received");
}

/// <summary>iperf3 TCP through the tunnel: a one-off server (`-s -1`) bound to an address and a
/// random port in one namespace, a JSON client (`-J`) in another, both bounded by timeouts.</summary>
internal static class Iperf3
{
    /// <summary>One TCP stream for <paramref name="seconds"/>; <paramref name="bitrate"/> (iperf3 `-b`, e.g. `2M`) caps it, null: as fast as it goes.</summary>
    public static Iperf3Result RunTcp(NetNs serverNs, string serverAddress, NetNs clientNs, int seconds, bool reverse = false, string? bitrate = null)
    {
        string port = Random.Shared.Next(20000, 40000).ToString(CultureInfo.InvariantCulture);
        using ManagedProcess server = serverNs.Start("iperf3", ["-s", "-1", "-p", port, "-B", serverAddress, "--forceflush"]);
        WaitForListening(server);

        List<string> arguments = ["-c", serverAddress, "-p", port, "-t", seconds.ToString(CultureInfo.InvariantCulture), "-J", "--connect-timeout", "5000"];
        if (reverse)
        {
            arguments.Add("-R");
        }
        if (bitrate is not null)
        {
            arguments.AddRange(["-b", bitrate]);
        }
        CommandResult client = clientNs.TryExec("iperf3", arguments, TimeSpan.FromSeconds(seconds + 20));
        if (client.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"iperf3 client failed ({client.ExitCode}): {client.CommandLine}\n{client.StandardOutput}\n{client.StandardError}\nserver: {server.Describe()}");
        }
        server.WaitForExit(TimeSpan.FromSeconds(5));
        return Parse(client.StandardOutput);
    }

    internal static Iperf3Result Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        JsonElement root = document.RootElement;
        if (root.TryGetProperty("error", out JsonElement error))
        {
            throw new InvalidOperationException($"iperf3 error: {error.GetString()}");
        }
        JsonElement end = root.GetProperty("end");
        double sent = end.GetProperty("sum_sent").GetProperty("bits_per_second").GetDouble();
        double received = end.GetProperty("sum_received").GetProperty("bits_per_second").GetDouble();
        return new Iperf3Result(sent, received, json);
    }

    private static void WaitForListening(ManagedProcess server) =>
        server.WaitForOutput("Server listening", TimeSpan.FromSeconds(10), "iperf3 server");
}
