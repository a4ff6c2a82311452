using System.Buffers.Binary;

namespace JumpingVpn.LoadGen.Bench;

/// <summary>
/// An established session's ping through the tunnel: ICMP echo requests from the client's inner address
/// to the server's, sealed with the session's keys; the server's kernel answers through its TUN and the
/// reply comes back encrypted. Loss and RTT are what the abuse goals are judged on.
/// </summary>
internal sealed class TunnelPinger
{
    private const int PayloadSize = 56;
    private readonly LoadGenerator _generator;
    private readonly SimClient _client;
    private readonly uint _destination;
    private readonly long[] _sentTicks;
    private readonly double[] _rttMs;
    private int _sent;
    private ushort _identifier;

    public TunnelPinger(LoadGenerator generator, SimClient client, uint destination, int capacity)
    {
        _generator = generator;
        _client = client;
        _destination = destination;
        _sentTicks = new long[capacity];
        _rttMs = new double[capacity];
        _identifier = (ushort)Environment.ProcessId;
    }

    /// <summary>Starts a new measurement window (its own sequence numbers, so late replies are not counted twice).</summary>
    public void Reset()
    {
        Array.Clear(_rttMs);
        Volatile.Write(ref _sent, 0);
        _identifier++;
    }

    public void SendOne()
    {
        int seq = _sent;
        if (seq >= _sentTicks.Length)
        {
            return;
        }
        Span<byte> packet = stackalloc byte[20 + 8 + PayloadSize];
        packet.Clear();
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)packet.Length);
        packet[8] = 64;
        packet[9] = 1; // ICMP
        BinaryPrimitives.WriteUInt32BigEndian(packet[12..], _client.InnerAddress);
        BinaryPrimitives.WriteUInt32BigEndian(packet[16..], _destination);
        BinaryPrimitives.WriteUInt16BigEndian(packet[10..], Checksum(packet[..20]));
        Span<byte> icmp = packet[20..];
        icmp[0] = 8;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], _identifier);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], (ushort)seq);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksum(icmp));
        Span<byte> datagram = stackalloc byte[256];
        int n;
        lock (_client)
        {
            n = _client.Seal(packet, datagram);
        }
        _sentTicks[seq] = LoadGenerator.NowTicks();
        Volatile.Write(ref _sent, seq + 1);
        _generator.SendRaw(_client.Socket, datagram[..n]);
    }

    public void OnReply(ReadOnlySpan<byte> packet)
    {
        if (packet.Length < 28 || packet[9] != 1 || packet[20] != 0)
        {
            return;
        }
        int ihl = (packet[0] & 0x0f) * 4;
        ReadOnlySpan<byte> icmp = packet[ihl..];
        if (BinaryPrimitives.ReadUInt16BigEndian(icmp[4..]) != _identifier)
        {
            return;
        }
        int seq = BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]);
        if (seq < Volatile.Read(ref _sent) && _rttMs[seq] == 0)
        {
            _rttMs[seq] = Math.Max(LoadGenerator.TicksToMs(LoadGenerator.NowTicks() - _sentTicks[seq]), 1e-6);
        }
    }

    /// <summary>Loss in percent and the median / p99 RTT in ms of the current window.</summary>
    public (double LossPct, double MedianMs, double P99Ms, int Sent) Summary()
    {
        int sent = Volatile.Read(ref _sent);
        var rtts = new List<double>(sent);
        for (int i = 0; i < sent; i++)
        {
            if (_rttMs[i] > 0)
            {
                rtts.Add(_rttMs[i]);
            }
        }
        double loss = sent == 0 ? 100 : 100.0 * (sent - rtts.Count) / sent;
        return (loss, Stats.Percentile(rtts, 50), Stats.Percentile(rtts, 99), sent);
    }

    private static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }
        if ((data.Length & 1) != 0)
        {
            sum += (uint)data[^1] << 8;
        }
        while (sum >> 16 != 0)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (ushort)~sum;
    }
}

/// <summary>Percentiles over measured samples (nearest-rank).</summary>
internal static class Stats
{
    public static double Percentile(List<double> samples, double p)
    {
        if (samples.Count == 0)
        {
            return double.NaN;
        }
        samples.Sort();
        int rank = (int)Math.Ceiling(p / 100.0 * samples.Count) - 1;
        return samples[Math.Clamp(rank, 0, samples.Count - 1)];
    }
}
