using System.Globalization;

namespace JumpingVpn.UdpBlast;

/// <summary>What one side counted; Sends is the number of send() calls (0 for the receiver).</summary>
internal readonly record struct BlastReport(string Mode, long Datagrams, long Bytes, long Sends, double Seconds)
{
    public double PacketsPerSecond => Seconds > 0 ? Datagrams / Seconds : 0;

    public string ToJson() => string.Create(CultureInfo.InvariantCulture,
        $"{{\"mode\":\"{Mode}\",\"datagrams\":{Datagrams},\"bytes\":{Bytes},\"sends\":{Sends},\"seconds\":{Seconds:F3},\"pps\":{PacketsPerSecond:F0}}}");
}
