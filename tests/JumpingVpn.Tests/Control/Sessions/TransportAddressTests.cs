using System.Net;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Control.Sessions;

/// <summary>The allocation-free conversion from a receive buffer's address equals the IPEndPoint one.</summary>
public sealed class TransportAddressTests
{
    [Theory]
    [InlineData("192.0.2.10:40000", false)]
    [InlineData("192.0.2.10:40000", true)]
    [InlineData("[2001:db8::30]:443", true)]
    [InlineData("127.0.2.1:1", false)]
    public void FromSocketAddressMatchesFromIPEndPoint(string text, bool dualMode)
    {
        IPEndPoint ep = IPEndPoint.Parse(text);
        SocketAddress raw = JumpingVpn.Tunnel.Device.EndpointCodec.ToSocketAddress(ep, dualMode);
        Assert.Equal(TransportAddress.From(ep), TransportAddress.From(raw));
        SteadyState.AllocatesNothing(() => _ = TransportAddress.From(raw), rounds: 100, warmup: 1);
    }
}
