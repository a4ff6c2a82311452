namespace JumpingVpn.Tests.Infrastructure;

/// <summary>The list of system binaries the scripts and tests use, with their Debian packages
/// (scripts/lib/system-packages.txt). test.sh and .ci/run install from it, so a test that needs a binary
/// the list lacks would pass here and fail on a fresh machine: <see cref="Requirements"/> refuses it.</summary>
internal static class SystemPackages
{
    private static readonly Lazy<IReadOnlyDictionary<string, Entry>?> Loaded = new(Load);

    internal sealed record Entry(string Binary, string Package, IReadOnlyList<string> Groups);

    /// <summary>The parsed list, or null when the tests run outside a checkout (no list to consult).</summary>
    public static IReadOnlyDictionary<string, Entry>? All => Loaded.Value;

    public static string? ListPath => RepositoryRoot.TryFind() is { } root ? Path.Combine(root, "scripts", "lib", "system-packages.txt") : null;

    /// <summary>Throws when the list exists and does not name <paramref name="binary"/> for the test group.</summary>
    public static void EnsureListed(string binary)
    {
        if (All is not { } all)
        {
            return;
        }
        if (!all.TryGetValue(binary, out Entry? entry) || !entry.Groups.Contains("test"))
        {
            throw new InvalidOperationException(
                $"binary '{binary}' is not listed for the test group in scripts/lib/system-packages.txt: add it with its " +
                "Debian package, so scripts/test.sh and .ci/run install it on a fresh machine");
        }
    }

    /// <summary>"wg (apt-get install wireguard-tools)" for the skip/fail message.</summary>
    public static string Describe(string binary) =>
        All is { } all && all.TryGetValue(binary, out Entry? entry) ? $"{binary} (apt-get install {entry.Package})" : binary;

    internal static IReadOnlyDictionary<string, Entry> Parse(IEnumerable<string> lines)
    {
        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        foreach (string raw in lines)
        {
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            string[] words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length < 3)
            {
                throw new FormatException($"system-packages.txt: '{line}' needs a binary, a package and at least one group");
            }
            entries.Add(words[0], new Entry(words[0], words[1], words[2..]));
        }
        return entries;
    }

    private static IReadOnlyDictionary<string, Entry>? Load() =>
        ListPath is { } path && File.Exists(path) ? Parse(File.ReadLines(path)) : null;
}
