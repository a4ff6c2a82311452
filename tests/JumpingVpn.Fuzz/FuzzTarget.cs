namespace JumpingVpn.Fuzz;

/// <summary>
/// One fuzz target: a name (the afl run and corpus directory, docs/fuzzing.md), the product entry it
/// drives, and the seeds it starts from. <see cref="Run"/> returns normally for every input the product
/// handles as documented (a false result, a counted drop, a documented exception it catches itself);
/// anything it lets escape is a finding.
/// </summary>
internal sealed class FuzzTarget(string name, string description, FuzzTarget.Input run, Func<IEnumerable<(string Name, byte[] Data)>> seeds)
{
    public delegate void Input(ReadOnlySpan<byte> data);

    public string Name { get; } = name;

    public string Description { get; } = description;

    public void Run(ReadOnlySpan<byte> data) => run(data);

    public IEnumerable<(string Name, byte[] Data)> Seeds() => seeds();
}
