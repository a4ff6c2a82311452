using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>How a long-running iperf3 TCP transfer ended. <see cref="Completed"/> means the client
/// exited 0 with a JSON report without "error": the one TCP connection lived the whole run.</summary>
internal sealed record Iperf3TransferResult(
    bool Completed,
    int ExitCode,
    string? Error,
    long BytesSent,
    long BytesReceived,
    double ReceivedBitsPerSecond,
    int Retransmits,
    string Json,
    string ClientStandardError,
    string ServerOutput)
{
    public override string ToString() => Completed
        ? string.Create(CultureInfo.InvariantCulture, $"completed: {BytesReceived} B received ({ReceivedBitsPerSecond / 1e6:0.0} Mbit/s), {Retransmits} retransmits")
        : string.Create(CultureInfo.InvariantCulture, $"FAILED (exit {ExitCode}): {Error}; {BytesReceived} B received");
}

/// <summary>
/// An iperf3 TCP transfer that runs in the background for N seconds while a test disturbs the path,
/// then reports whether the connection survived. Unlike <see cref="Iperf3.RunTcp"/> it does not throw
/// on failure: a broken connection is the result under test.
/// </summary>
internal sealed class Iperf3Transfer : IDisposable
{
    private readonly ManagedProcess _server;
    private readonly Task<CommandResult> _client;

    private Iperf3Transfer(ManagedProcess server, Task<CommandResult> client, int seconds)
    {
        _server = server;
        _client = client;
        Seconds = seconds;
    }

    public int Seconds { get; }

    /// <summary>Starts a one-off iperf3 server on <paramref name="serverAddress"/> in
    /// <paramref name="serverNs"/>, then the client (client→server data, or server→client with
    /// <paramref name="reverse"/>) in <paramref name="clientNs"/>, and returns at once.
    /// <paramref name="bitrate"/> (iperf3 -b, e.g. "200M") paces the sender: unpaced, a TCP stream
    /// fills every queue on the path, so a ping measured alongside shows congestion loss rather than
    /// the event under test.</summary>
    public static Iperf3Transfer Start(NetNs serverNs, string serverAddress, NetNs clientNs, int seconds, bool reverse = false, string? bitrate = null)
    {
        string port = Random.Shared.Next(20000, 40000).ToString(CultureInfo.InvariantCulture);
        ManagedProcess server = serverNs.Start("iperf3", ["-s", "-1", "-p", port, "-B", serverAddress, "--forceflush"]);
        try
        {
            WaitForListening(server);
            List<string> arguments = ["-c", serverAddress, "-p", port, "-t", seconds.ToString(CultureInfo.InvariantCulture), "-J", "--connect-timeout", "5000"];
            if (reverse)
            {
                arguments.Add("-R");
            }
            if (bitrate is not null)
            {
                arguments.Add("-b");
                arguments.Add(bitrate);
            }
            // The client blocks for the run; the timeout leaves room for TCP to ride out a stall.
            TimeSpan timeout = TimeSpan.FromSeconds(seconds + 30);
            Task<CommandResult> client = Task.Factory.StartNew(
                () => clientNs.TryExec("iperf3", arguments, timeout),
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
            return new Iperf3Transfer(server, client, seconds);
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>Waits for the client to finish and reads its JSON report.</summary>
    public Iperf3TransferResult Wait()
    {
        CommandResult client = _client.GetAwaiter().GetResult();
        _server.WaitForExit(TimeSpan.FromSeconds(5));
        return Parse(client.ExitCode, client.StandardOutput, client.StandardError, _server.Describe());
    }

    public void Dispose() => _server.Dispose();

    internal static Iperf3TransferResult Parse(int exitCode, string json, string standardError, string serverOutput)
    {
        string? error = null;
        long sent = 0;
        long received = 0;
        double bitsPerSecond = 0;
        int retransmits = 0;
        try
        {
            using var document = JsonDocument.Parse(json);
            JsonElement root = document.RootElement;
            if (root.TryGetProperty("error", out JsonElement e))
            {
                error = e.GetString();
            }
            if (root.TryGetProperty("end", out JsonElement end))
            {
                if (end.TryGetProperty("sum_sent", out JsonElement s))
                {
                    sent = (long)s.GetProperty("bytes").GetDouble();
                    if (s.TryGetProperty("retransmits", out JsonElement r))
                    {
                        retransmits = r.GetInt32();
                    }
                }
                if (end.TryGetProperty("sum_received", out JsonElement rx))
                {
                    received = (long)rx.GetProperty("bytes").GetDouble();
                    bitsPerSecond = rx.GetProperty("bits_per_second").GetDouble();
                }
            }
        }
        catch (JsonException ex)
        {
            error = $"no JSON report ({ex.Message})";
        }
        if (error is null && exitCode != 0)
        {
            error = $"exit code {exitCode}: {standardError.Trim()}";
        }
        bool completed = exitCode == 0 && error is null && received > 0;
        return new Iperf3TransferResult(completed, exitCode, error, sent, received, bitsPerSecond, retransmits, json, standardError, serverOutput);
    }

    private static void WaitForListening(ManagedProcess server) =>
        server.WaitForOutput("Server listening", TimeSpan.FromSeconds(10), "iperf3 server");
}
