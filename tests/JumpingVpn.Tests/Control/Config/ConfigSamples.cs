namespace JumpingVpn.Tests.Control.Config;

/// <summary>Keys and configs from the wg(8) and wg-quick(8) man pages, so the tests read like real files.</summary>
internal static class ConfigSamples
{
    public const string PrivateKey = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    public const string PeerA = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    public const string PeerB = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";
    public const string PeerC = "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=";
    public const string Psk = "/UwcSPg38hW/D9Y3tcS1FOV0K1wuURMbS0sesJEP5ak=";

    /// <summary>wg-quick(8) EXAMPLES: a client that sends everything through the tunnel.</summary>
    public const string Client = """
        [Interface]
        Address = 10.200.100.8/24
        DNS = 10.200.100.1
        PrivateKey = oK56DE9Ue9zK76rAc8pBl6opph+1v36lm7cXXsQKrQM=

        [Peer]
        PublicKey = GtL7fZc/bLnqZldpVofMCD6hDjrK28SsdLxevJ+qtKU=
        PresharedKey = /UwcSPg38hW/D9Y3tcS1FOV0K1wuURMbS0sesJEP5ak=
        AllowedIPs = 0.0.0.0/0
        Endpoint = demo.wireguard.com:51820
        """;

    /// <summary>wg(8) CONFIGURATION FILE FORMAT EXAMPLE: a server with three peers.</summary>
    public const string Server = """
        [Interface]
        PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
        ListenPort = 51820

        [Peer]
        PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
        Endpoint = 192.95.5.67:1234
        AllowedIPs = 10.192.122.3/32, 10.192.124.1/24

        [Peer]
        PublicKey = TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=
        Endpoint = [2607:5300:60:6b0::c05f:543]:2468
        AllowedIPs = 10.192.122.4/32, 192.168.0.0/16

        [Peer]
        PublicKey = gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=
        Endpoint = test.wireguard.com:18981
        AllowedIPs = 10.10.10.230/32
        """;

    /// <summary>A minimal valid [Interface] to prepend to peer-focused cases.</summary>
    public const string MinimalInterface = "[Interface]\nPrivateKey = " + PrivateKey + "\n";
}
