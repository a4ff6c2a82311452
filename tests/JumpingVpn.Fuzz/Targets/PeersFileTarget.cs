using System.Text;
using JumpingVpn.Control.Config;

namespace JumpingVpn.Fuzz.Targets;

/// <summary>
/// A peers file's text (docs/scaling.md) into <see cref="PeersFile.Parse"/>. A bad line is a
/// <see cref="ConfigException"/> naming the line; any other exception is a finding.
/// </summary>
internal static class PeersFileTarget
{
    public static void Run(ReadOnlySpan<byte> data)
    {
        using var reader = new StringReader(Encoding.UTF8.GetString(data));
        try
        {
            PeersFile.Parse(reader, "fuzz.peers");
        }
        catch (ConfigException)
        {
            // The documented failure: the line and what is wrong with it.
        }
    }

    public static IEnumerable<(string Name, byte[] Data)> Seeds()
    {
        yield return ("peers", Encoding.UTF8.GetBytes(
            "# clients of jv0\n"
            + "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=  10.64.0.2/32,fd00::2/128\n"
            + "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=\t10.64.0.3/32\t/UwcSPg38hW/D9Y3tcS1FOV0K1wuURMbS0sesJEP5ak=  # with a psk\n"
            + "\n"));
    }
}
