using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Browser;

/// <summary>Client configs with real keys for import through the page.</summary>
internal static class SampleConfigs
{
    public static string Client(string endpoint = "192.0.2.1:51820") =>
        $"[Interface]\nPrivateKey = {KeyPair.Generate().PrivateKey}\nAddress = 10.66.0.2/24\n\n[Peer]\nPublicKey = {KeyPair.Generate().PublicKey}\nEndpoint = {endpoint}\nAllowedIPs = 10.66.0.0/24\n";
}
