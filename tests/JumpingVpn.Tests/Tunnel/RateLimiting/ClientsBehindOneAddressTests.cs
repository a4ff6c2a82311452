using System.Net;
using JumpingVpn.Tunnel.Cookies;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Device;
using JumpingVpn.Tunnel.Noise;
using JumpingVpn.Tunnel.RateLimiting;
using JumpingVpn.Tunnel.Timers;

namespace JumpingVpn.Tests.Tunnel.RateLimiting;

/// <summary>
/// Many genuine clients behind one CGNAT address, a server under load, and a keyless flood that spoofs
/// the same address: the path of TunnelLoops (admission with mac1 on the receive thread, then the
/// device with the per-source limiter) run by hand with a manual clock.
/// </summary>
public class ClientsBehindOneAddressTests
{
    private const int Clients = 40;
    private static readonly IPAddress Cgnat = IPAddress.Parse("100.64.0.1");

    private sealed class Client
    {
        public required WireGuardDevice Device { get; init; }
        public required WireSender Wire { get; init; }
        public required Peer Server { get; init; }
        public required SocketAddress Address { get; init; }
    }

    [Fact]
    public void AllClientsBehindOneAddressCompleteWithCookiesUnderLoadDuringASpoofedKeylessFlood()
    {
        var clock = new ManualTimeProvider();
        var random = new DeterministicRandom(5);
        var serverWire = new WireSender();
        var server = new WireGuardDevice(new DeviceOptions { Time = clock, Random = random.Fill }, serverWire);
        byte[] serverKey = new byte[32];
        X25519.GeneratePrivateKey(serverKey, random.Fill);
        server.SetPrivateKey(serverKey);
        SocketAddress serverAddress = EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 51820), dualMode: false);
        var clients = new Client[Clients];
        for (int i = 0; i < Clients; i++)
        {
            var wire = new WireSender();
            var device = new WireGuardDevice(new DeviceOptions { Time = clock, Random = random.Fill }, wire);
            byte[] key = new byte[32];
            X25519.GeneratePrivateKey(key, random.Fill);
            device.SetPrivateKey(key);
            Peer toServer = device.AddPeer(server.Identity!.PublicKey, new byte[32]);
            toServer.Endpoint = serverAddress;
            server.AddPeer(device.Identity!.PublicKey, new byte[32]);
            // One public address, one NAT port per client.
            clients[i] = new Client { Device = device, Wire = wire, Server = toServer, Address = EndpointCodec.ToSocketAddress(new IPEndPoint(Cgnat, 40000 + i), dualMode: false) };
        }

        var admission = new HandshakeAdmission(AdmissionLimits.Default, Ticks(clock));
        var mac1 = new Mac1Verifier(server.Identity!.PublicKey);
        var limiter = new HandshakeRateLimiter();
        server.UnderLoad = true; // as the handshake loop sets it while the DH budget or the queue is exhausted
        var floodRng = new Random(9);
        byte[] keyless = new byte[MessageLayout.InitiationSize];
        SocketAddress floodFrom = EndpointCodec.ToSocketAddress(new IPEndPoint(Cgnat, 1), dualMode: false);

        // Round 1: every client's first initiation is answered with a cookie; round 2 (a retry after
        // REKEY_TIMEOUT, spread by the clients' jitter; here 60 ms apart, under the proven-source limit of 20/s) carries mac2 and completes. A
        // keyless flood from the same address runs throughout, 1000 datagrams between two clients' sends.
        for (int round = 0; round < 2; round++)
        {
            clock.Advance(TimeSpan.FromTicks(ProtocolTimes.RekeyTimeout / 100) + TimeSpan.FromSeconds(1));
            foreach (Client c in clients)
            {
                clock.Advance(TimeSpan.FromMilliseconds(60));
                for (int f = 0; f < 1000; f++)
                {
                    floodRng.NextBytes(keyless);
                    keyless[0] = MessageLayout.TypeInitiation;
                    keyless[1] = keyless[2] = keyless[3] = 0;
                    Receive(server, admission, mac1, limiter, keyless, floodFrom, Ticks(clock));
                }
                c.Device.SendHandshakeInitiation(c.Server, isRetry: round > 0);
                foreach ((byte[] d, _) in c.Wire.Drain())
                {
                    Receive(server, admission, mac1, limiter, d, c.Address, Ticks(clock));
                }
            }
            foreach ((byte[] d, SocketAddress to) in serverWire.Drain())
            {
                Client c = clients.Single(x => x.Address.Equals(to));
                Assert.Equal(ReceiveResult.Handshake, c.Device.Decapsulate(d, serverAddress, out _, out _, out _));
                c.Device.ProcessHandshakeMessage(d, serverAddress, rateLimitOk: true);
            }
            if (round == 0)
            {
                Assert.Equal(0, server.Counters.Handshakes);
                Assert.Equal(Clients, server.Counters.CookieReplies);
            }
        }

        Assert.Equal(Clients, server.Counters.Handshakes);
        Assert.All(clients, c => Assert.NotNull(c.Server.Keypairs.Current));
        Assert.Equal(2 * Clients * 1000, admission.Mac1Invalid);
        Assert.Equal(0, server.Counters.RateLimitedHandshakes);
    }

    /// <summary>What TunnelLoops does with one handshake datagram: admission on the receive thread, then the handshake thread.</summary>
    private static void Receive(WireGuardDevice server, HandshakeAdmission admission, Mac1Verifier mac1, HandshakeRateLimiter limiter,
        byte[] datagram, SocketAddress from, long nowTicks)
    {
        Assert.Equal(ReceiveResult.Handshake, server.Decapsulate(datagram, from, out _, out _, out _));
        Span<byte> source = stackalloc byte[18];
        int n = EndpointCodec.WriteAddressBytes(from, source, includePort: false);
        if (admission.Admit(datagram, source[..n], nowTicks, mac1) == AdmissionVerdict.Admitted)
        {
            server.ProcessHandshakeMessage(datagram, from, limiter);
        }
    }

    private static long Ticks(ManualTimeProvider clock) => clock.GetTimestamp() / 100;
}
