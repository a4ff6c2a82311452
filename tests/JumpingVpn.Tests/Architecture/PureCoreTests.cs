namespace JumpingVpn.Tests.Architecture;

/// <summary>
/// The protocol and session cores are sans-I/O (docs/design.md §1): no sockets, threads, wall or monotonic
/// clocks, or System.Random in their IL. Scanned from the built assemblies, so code the compiler generates
/// (lambdas, iterators, async state machines) is checked too.
/// </summary>
public sealed class PureCoreTests
{
    private static string AssemblyFile(string name) => Path.Combine(AppContext.BaseDirectory, name + ".dll");

    [Theory]
    [InlineData("JumpingVpn.Tunnel")]
    [InlineData("JumpingVpn.Control")]
    public void Pure_cores_use_no_clock_random_thread_or_socket(string assembly)
    {
        List<string> violations = PureCoreRules.Violations(AssemblyFile(assembly), PureCoreRules.IsPureCore);
        Assert.Empty(violations);
    }

    [Fact]
    public void Every_pure_core_namespace_has_types_with_code()
    {
        // A renamed namespace would otherwise leave its rule scanning nothing.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string assembly in new[] { "JumpingVpn.Tunnel", "JumpingVpn.Control" })
        {
            foreach (IlReference r in IlReferences.Scan(AssemblyFile(assembly), PureCoreRules.IsPureCore))
            {
                seen.Add(r.OwnerType[..r.OwnerType.LastIndexOf('.')]);
            }
        }
        Assert.Equal(PureCoreRules.Namespaces.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_listed_exception_names_a_type_that_exists()
    {
        var owners = new HashSet<string>(StringComparer.Ordinal);
        foreach (string assembly in new[] { "JumpingVpn.Tunnel", "JumpingVpn.Control" })
        {
            foreach (IlReference r in IlReferences.Scan(AssemblyFile(assembly), _ => true))
            {
                owners.Add(r.OwnerType);
            }
        }
        Assert.All(PureCoreRules.Exceptions.Keys, type => Assert.Contains(type, owners));
    }

    [Fact]
    public void Scanner_reports_each_forbidden_call_in_a_violating_type()
    {
        const string sample = "JumpingVpn.Tests.Architecture.Samples.ClockReadingSample";
        List<string> violations = PureCoreRules.Violations(typeof(PureCoreTests).Assembly.Location, owner => owner == sample);

        string[] expected =
        [
            "ClockReadingSample.Timestamp uses System.Diagnostics.Stopwatch::GetTimestamp",
            "ClockReadingSample.Wall uses System.DateTime::get_UtcNow",
            "ClockReadingSample.LocalWall uses System.DateTimeOffset::get_Now",
            "ClockReadingSample.Ticks uses System.Environment::get_TickCount64",
            "ClockReadingSample.Dice uses System.Random::.ctor",
            "ClockReadingSample.Nap uses System.Threading.Thread::Sleep",
            "ClockReadingSample.Open uses System.Net.Sockets.Socket::.ctor",
        ];
        foreach (string e in expected)
        {
            Assert.Contains(violations, v => v.Contains(e, StringComparison.Ordinal));
        }
        // The lambda's body lives in a compiler-generated nested type; it is charged to its outer type.
        Assert.Contains(violations, v => v.StartsWith(sample + "+", StringComparison.Ordinal)
                                         && v.Contains(" uses System.Diagnostics.Stopwatch::GetTimestamp:", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.StartsWith(sample + "+", StringComparison.Ordinal)
                                         && v.Contains(" uses System.Environment::get_TickCount:", StringComparison.Ordinal));
    }

    [Fact]
    public void Scanner_reports_nothing_for_injected_clock_and_random()
    {
        const string sample = "JumpingVpn.Tests.Architecture.Samples.InjectedClockSample";
        List<IlReference> references = IlReferences.Scan(typeof(PureCoreTests).Assembly.Location, owner => owner == sample);

        Assert.Contains(references, r => r.Target == "System.TimeProvider::GetTimestamp");
        Assert.Empty(PureCoreRules.Violations(typeof(PureCoreTests).Assembly.Location, owner => owner == sample));
    }
}
