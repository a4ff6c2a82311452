using JumpingVpn.Fuzz;
using SharpFuzz;

// JumpingVpn.Fuzz TARGET              run TARGET under afl-fuzz (SharpFuzz fork server, input on stdin)
// JumpingVpn.Fuzz TARGET FILE...      run TARGET once on each file and report what escapes (triage)
// JumpingVpn.Fuzz TARGET --seeds DIR  write TARGET's generated seeds into DIR
// docs/fuzzing.md describes the targets and scripts/fuzz.sh drives them.
if (args.Length == 0 || FuzzTargets.Find(args[0]) is not FuzzTarget target)
{
    Console.Error.WriteLine("usage: JumpingVpn.Fuzz TARGET [FILE... | --seeds DIR]");
    Console.Error.WriteLine("targets:");
    foreach (FuzzTarget t in FuzzTargets.All)
    {
        Console.Error.WriteLine($"  {t.Name,-10} {t.Description}");
    }
    return 2;
}

if (args.Length == 3 && args[1] == "--seeds")
{
    Directory.CreateDirectory(args[2]);
    foreach ((string name, byte[] data) in target.Seeds())
    {
        File.WriteAllBytes(Path.Combine(args[2], "seed-" + name), data);
    }
    return 0;
}

if (args.Length > 1)
{
    int failed = 0;
    foreach (string file in args[1..])
    {
        try
        {
            target.Run(File.ReadAllBytes(file));
        }
#pragma warning disable CA1031 // Triage: report every escaping exception, whatever its type, and go on.
        catch (Exception e)
#pragma warning restore CA1031
        {
            failed++;
            Console.Error.WriteLine($"{file}: {e}");
        }
    }
    return failed == 0 ? 0 : 1;
}

// Under afl-fuzz this loops in one process (persistent mode); an escaping exception is reported as a crash.
byte[] buffer = new byte[1 << 20];
Fuzzer.Run(stream =>
{
    int length = 0;
    int read;
    while (length < buffer.Length && (read = stream.Read(buffer, length, buffer.Length - length)) > 0)
    {
        length += read;
    }
    target.Run(buffer.AsSpan(0, length));
});
return 0;
