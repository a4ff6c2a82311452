using System.Reflection;
using JumpingVpn.Tests.Architecture.Samples;
using JumpingVpn.Tunnel.Loops;

namespace JumpingVpn.Tests.Architecture;

/// <summary>
/// The packet loops reach UDP only through <c>IDatagramTransport</c> (docs/data-plane.md §3.6), so they run
/// over the in-memory network in tests exactly as over sockets: no type in Tunnel/Loops may name the
/// concrete socket (<c>UdpTransport</c>) or its poll(2) helper (<c>UdpPoller</c>) in a field, a signature or
/// its IL.
/// </summary>
public sealed class DataPlaneSeamTests
{
    private static readonly string[] Concrete = ["JumpingVpn.Platform.Udp.UdpTransport", "JumpingVpn.Platform.Udp.UdpPoller"];

    [Fact]
    public void Tunnel_loops_name_no_concrete_udp_type()
    {
        List<string> namings = Namings(typeof(TunnelLoops).Assembly, t => t.Namespace == typeof(TunnelLoops).Namespace);
        Assert.Empty(namings);
    }

    [Fact]
    public void Checker_reports_each_way_a_type_names_the_concrete_socket()
    {
        List<string> namings = Namings(typeof(DataPlaneSeamTests).Assembly, t => t == typeof(ConcreteTransportSample));

        string[] expected =
        [
            "ConcreteTransportSample._sockets: field of JumpingVpn.Platform.Udp.UdpTransport[]",
            "ConcreteTransportSample..ctor: parameter of JumpingVpn.Platform.Udp.UdpTransport",
            "ConcreteTransportSample.get_Primary: returns JumpingVpn.Platform.Udp.UdpTransport",
            "ConcreteTransportSample.Send uses JumpingVpn.Platform.Udp.UdpTransport::SendSegments",
            "ConcreteTransportSample.Wait uses JumpingVpn.Platform.Udp.UdpPoller::WaitReadable",
        ];
        foreach (string e in expected)
        {
            Assert.Contains(namings, n => n.EndsWith(e, StringComparison.Ordinal));
        }
        Assert.Empty(Namings(typeof(DataPlaneSeamTests).Assembly, t => t == typeof(SeamTransportSample)));
    }

    /// <summary>Every place the selected types (and the types nested in them) name a concrete UDP type, one line each.</summary>
    private static List<string> Namings(Assembly assembly, Func<Type, bool> select)
    {
        var lines = new List<string>();
        var owners = new HashSet<string>(StringComparer.Ordinal);
        const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (Type type in assembly.GetTypes())
        {
            Type outer = type;
            while (outer.DeclaringType is not null)
            {
                outer = outer.DeclaringType;
            }
            if (!select(outer))
            {
                continue;
            }
            owners.Add(outer.FullName!);
            foreach (FieldInfo f in type.GetFields(All))
            {
                if (Names(f.FieldType))
                {
                    lines.Add($"{type.FullName}.{f.Name}: field of {f.FieldType.FullName}");
                }
            }
            foreach (MethodBase m in type.GetMethods(All).Concat<MethodBase>(type.GetConstructors(All)))
            {
                foreach (ParameterInfo p in m.GetParameters())
                {
                    if (Names(p.ParameterType))
                    {
                        lines.Add($"{type.FullName}.{m.Name}: parameter of {p.ParameterType.FullName}");
                    }
                }
                if (m is MethodInfo mi && Names(mi.ReturnType))
                {
                    lines.Add($"{type.FullName}.{m.Name}: returns {mi.ReturnType.FullName}");
                }
            }
        }
        foreach (IlReference r in IlReferences.Scan(assembly.Location, owners.Contains))
        {
            if (Array.Exists(Concrete, c => r.Target == c || r.Target.StartsWith(c + "::", StringComparison.Ordinal)))
            {
                lines.Add($"{r.Method} uses {r.Target}");
            }
        }
        return lines;
    }

    private static bool Names(Type type)
    {
        if (type.HasElementType)
        {
            return Names(type.GetElementType()!);
        }
        if (type.IsGenericType && Array.Exists(type.GetGenericArguments(), Names))
        {
            return true;
        }
        return Array.IndexOf(Concrete, type.FullName) >= 0;
    }
}
