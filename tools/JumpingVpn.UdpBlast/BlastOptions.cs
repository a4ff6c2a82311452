using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace JumpingVpn.UdpBlast;

internal enum BlastMode
{
    Send,
    Receive,
}

/// <summary>
/// The command line: `send --to ADDR:PORT` or `recv --bind ADDR:PORT`, both bounded by --seconds. The sender
/// writes --segment-byte datagrams in GSO sends of --segments each (UDP_SEGMENT, as QUIC stacks send); the
/// receiver counts what arrives.
/// </summary>
internal sealed record BlastOptions(BlastMode Mode, IPEndPoint Endpoint, double Seconds, int SegmentSize, int Segments)
{
    /// <summary>UDP_MAX_SEGMENTS in include/linux/udp.h of kernels before 6.9; newer kernels allow 128.</summary>
    public const int MaxSegments = 64;

    /// <summary>A GSO send is one UDP datagram before segmentation: its payload is capped at 65507 bytes.</summary>
    public const int MaxGsoPayload = 65507;

    public const string Usage =
        """
        jvpn-udpblast: inner-UDP workload for bench/throughput.sh (docs/performance.md)

          jvpn-udpblast send --to ADDR:PORT [--seconds S] [--segment BYTES] [--segments N]
              sends BYTES-sized datagrams as fast as the socket takes them, N per send() with UDP_SEGMENT
              (GSO, as QUIC stacks send), for S seconds; --segments 1 sends one datagram per send()
          jvpn-udpblast recv --bind ADDR:PORT [--seconds S]
              counts datagrams with recvmmsg for S seconds after the first one arrives (or until S
              seconds pass without any)

        Defaults: --seconds 10, --segment 1200, --segments 54 (64800 bytes per send).
        Prints one JSON line: datagrams, bytes, seconds, pps (and sends for send).
        """;

    /// <summary>False with error null for --help; false with an error for a mistake.</summary>
    public static bool TryParse(string[] args, [NotNullWhen(true)] out BlastOptions? options, out string? error)
    {
        options = null;
        error = null;
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            return false;
        }
        BlastMode mode;
        switch (args[0])
        {
            case "send": mode = BlastMode.Send; break;
            case "recv": mode = BlastMode.Receive; break;
            default:
                error = $"unknown mode '{args[0]}': use send or recv";
                return false;
        }
        IPEndPoint? endpoint = null;
        double seconds = 10;
        int segmentSize = 1200;
        int segments = 54;
        for (int i = 1; i < args.Length; i++)
        {
            string name = args[i];
            if (name is "-h" or "--help")
            {
                return false;
            }
            if (i + 1 >= args.Length)
            {
                error = $"{name} needs a value";
                return false;
            }
            string value = args[++i];
            switch (name)
            {
                case "--to" when mode == BlastMode.Send:
                case "--bind" when mode == BlastMode.Receive:
                    if (!IPEndPoint.TryParse(value, out endpoint) || endpoint.Port == 0 && mode == BlastMode.Send)
                    {
                        error = $"{name} '{value}' is not an ADDR:PORT (for example 10.77.0.1:5201)";
                        return false;
                    }
                    break;
                case "--seconds":
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out seconds) || !(seconds > 0) || seconds > 3600)
                    {
                        error = $"--seconds '{value}' must be a number of seconds between 0 and 3600";
                        return false;
                    }
                    break;
                case "--segment" when mode == BlastMode.Send:
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out segmentSize) || segmentSize is < 1 or > 1472)
                    {
                        error = $"--segment '{value}' must be 1-1472 bytes (one datagram must fit an MTU of 1500)";
                        return false;
                    }
                    break;
                case "--segments" when mode == BlastMode.Send:
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out segments) || segments is < 1 or > MaxSegments)
                    {
                        error = $"--segments '{value}' must be 1-{MaxSegments}";
                        return false;
                    }
                    break;
                default:
                    error = $"unknown option '{name}' for {args[0]}";
                    return false;
            }
        }
        if (endpoint is null)
        {
            error = mode == BlastMode.Send ? "send needs --to ADDR:PORT" : "recv needs --bind ADDR:PORT";
            return false;
        }
        if ((long)segmentSize * segments > MaxGsoPayload)
        {
            error = $"--segment {segmentSize} x --segments {segments} exceeds the {MaxGsoPayload}-byte payload of one send; lower --segments to {MaxGsoPayload / segmentSize}";
            return false;
        }
        options = new BlastOptions(mode, endpoint, seconds, segmentSize, segments);
        return true;
    }
}
