using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace JumpingVpn.Tests.Architecture;

/// <summary>
/// Platform &lt;- Tunnel &lt;- Control &lt;- Ui &lt;- Cli (docs/design.md §1): an assembly references only the
/// jvpn assemblies to its left. Read from the built assemblies' metadata, so a reference added by hand
/// to a project file or picked up through a package is caught as well.
/// </summary>
public sealed class LayeringTests
{
    private static readonly (string File, string[] Allowed)[] Layers =
    [
        ("JumpingVpn.Platform", []),
        ("JumpingVpn.Tunnel", ["JumpingVpn.Platform"]),
        ("JumpingVpn.Control", ["JumpingVpn.Platform", "JumpingVpn.Tunnel"]),
        ("JumpingVpn.Ui", ["JumpingVpn.Platform", "JumpingVpn.Tunnel", "JumpingVpn.Control"]),
        ("jvpn", ["JumpingVpn.Platform", "JumpingVpn.Tunnel", "JumpingVpn.Control", "JumpingVpn.Ui"]),
    ];

    public static TheoryData<string> LayerFiles()
    {
        var data = new TheoryData<string>();
        foreach ((string file, _) in Layers)
        {
            data.Add(file);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(LayerFiles))]
    public void Assembly_references_only_layers_below_it(string file)
    {
        string[] allowed = Array.Find(Layers, l => l.File == file).Allowed;
        Assert.Empty(Upward(Path.Combine(AppContext.BaseDirectory, file + ".dll"), allowed));
    }

    [Fact]
    public void Checker_reports_a_reference_to_a_layer_not_allowed()
    {
        // Tunnel really references Platform; judged by Platform's rule (no jvpn references) it must fail.
        List<string> upward = Upward(Path.Combine(AppContext.BaseDirectory, "JumpingVpn.Tunnel.dll"), allowed: []);

        Assert.Equal(["JumpingVpn.Platform"], upward);
    }

    /// <summary>The jvpn assemblies the file references that <paramref name="allowed"/> does not list.</summary>
    private static List<string> Upward(string assemblyPath, string[] allowed)
    {
        using FileStream stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        MetadataReader md = pe.GetMetadataReader();
        var upward = new List<string>();
        foreach (AssemblyReferenceHandle h in md.AssemblyReferences)
        {
            string name = md.GetString(md.GetAssemblyReference(h).Name);
            bool ours = name.StartsWith("JumpingVpn.", StringComparison.Ordinal) || name == "jvpn";
            if (ours && Array.IndexOf(allowed, name) < 0)
            {
                upward.Add(name);
            }
        }
        return upward;
    }
}
