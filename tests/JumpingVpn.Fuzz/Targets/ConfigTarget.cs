using System.Text;
using JumpingVpn.Control.Config;

namespace JumpingVpn.Fuzz.Targets;

/// <summary>
/// A wg-quick config file's text (UTF-8, as File.ReadAllText decodes it) into
/// <see cref="TunnelConfigParser.Parse"/>. A bad config is a <see cref="ConfigException"/> naming the
/// line and the fix; any other exception is a finding. A config that parses
/// must parse again from <see cref="TunnelConfigWriter.Write"/> (which `jvpn server add-peer` relies
/// on) unless the writer refuses it with its documented <see cref="ArgumentException"/>.
/// </summary>
internal static class ConfigTarget
{
    public static void Run(ReadOnlySpan<byte> data)
    {
        string text = Encoding.UTF8.GetString(data);
        TunnelConfig config;
        try
        {
            config = TunnelConfigParser.Parse(text, "fuzz.conf", "wg0");
        }
        catch (ConfigException)
        {
            return;
        }
        string written;
        try
        {
            written = TunnelConfigWriter.Write(config);
        }
        catch (ArgumentException)
        {
            return;
        }
        try
        {
            TunnelConfigParser.Parse(written, "written.conf", "wg0");
        }
        catch (ConfigException e)
        {
            throw new InvalidOperationException("a parsed config does not parse again once written: " + e.Message, e);
        }
    }

    public static IEnumerable<(string Name, byte[] Data)> Seeds()
    {
        yield return ("client", Encoding.UTF8.GetBytes("""
            [Interface]
            Address = 10.200.100.8/24, fd00::8/64
            DNS = 10.200.100.1, example.com
            PrivateKey = oK56DE9Ue9zK76rAc8pBl6opph+1v36lm7cXXsQKrQM=
            MTU = 1380
            Table = off
            PreUp = echo up %i
            PostDown = echo down

            [Peer]
            PublicKey = GtL7fZc/bLnqZldpVofMCD6hDjrK28SsdLxevJ+qtKU=
            PresharedKey = /UwcSPg38hW/D9Y3tcS1FOV0K1wuURMbS0sesJEP5ak=
            AllowedIPs = 0.0.0.0/0, ::/0
            Endpoint = demo.wireguard.com:51820
            PersistentKeepalive = 25

            [Jumping]
            Endpoints = 203.0.113.11:51820, [2001:db8::12]:51820
            """));
        yield return ("server", Encoding.UTF8.GetBytes("""
            # a cluster node with two clients
            [Interface]
            PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
            ListenPort = 51820
            FwMark = 0x1234
            SaveConfig = false

            [Peer]
            PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
            AllowedIPs = 10.64.0.2/32, fd00:64::2/128
            PersistentKeepalive = off

            [Peer]
            PublicKey = TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=
            Endpoint = [2001:db8:1::7]:2468
            AllowedIPs = 10.64.0.3/32

            [Jumping]
            Store = redis://10.0.0.5:6379/0?prefix=jvpn&timeout=200ms
            NodeId = node-1
            NodeTtl = 1s
            """));
    }
}
