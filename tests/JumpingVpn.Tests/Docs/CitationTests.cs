using System.Text.RegularExpressions;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Docs;

/// <summary>
/// The repository's docs/ is the reference the code cites: every "docs/page.md §N" in the sources must
/// name a page and a numbered heading that exist, and nothing may cite a document outside the repository
/// or an issue number (an issue tracker is history, not a specification).
/// </summary>
public sealed partial class CitationTests
{
    private static readonly string[] SourceRoots = ["src", "tools", "tests", "packaging", "bench", "scripts", ".ci"];

    [Fact]
    public void Every_cited_docs_section_exists()
    {
        string root = RepositoryRoot.Find();
        var missing = new SortedSet<string>(StringComparer.Ordinal);
        var headings = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        int citations = 0;
        foreach ((string file, string text) in Sources(root))
        {
            foreach (Match m in SectionCitation().Matches(text))
            {
                citations++;
                string page = m.Groups["page"].Value;
                string section = m.Groups["section"].Value.TrimEnd('.');
                if (!headings.TryGetValue(page, out HashSet<string>? known))
                {
                    string path = Path.Combine(root, "docs", page);
                    known = File.Exists(path) ? Headings(File.ReadLines(path)) : [];
                    headings[page] = known;
                }
                if (!known.Contains(section))
                {
                    missing.Add($"docs/{page} §{section} (cited in {Path.GetRelativePath(root, file)})");
                }
            }
        }
        Assert.True(citations > 100, $"expected the sources to cite docs sections, found {citations}");
        Assert.Empty(missing);
    }

    [Fact]
    public void Nothing_cites_documents_outside_the_repository_or_issue_numbers()
    {
        string root = RepositoryRoot.Find();
        var offenders = new List<string>();
        foreach ((string file, string text) in Sources(root).Concat(Docs(root)))
        {
            foreach (Match m in OutsideCitation().Matches(text))
            {
                offenders.Add($"{Path.GetRelativePath(root, file)}: '{m.Value}'");
            }
        }
        Assert.Empty(offenders);
    }

    internal static HashSet<string> Headings(IEnumerable<string> lines)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (string line in lines)
        {
            Match m = Heading().Match(line);
            if (m.Success)
            {
                found.Add(m.Groups["section"].Value);
            }
        }
        return found;
    }

    [Fact]
    public void Headings_are_read_from_markdown_titles_only()
    {
        HashSet<string> found = Headings(["## §2 Wire", "### §2.2 Frames", "text §9 is not a heading", "#### §5.2.1 Deep", "## 4. Versioning", "### 3.1 HELLO"]);
        Assert.Equal(["2", "2.2", "3.1", "4", "5.2.1"], found.Order(StringComparer.Ordinal));
    }

    private static IEnumerable<(string File, string Text)> Sources(string root)
    {
        foreach (string dir in SourceRoots)
        {
            string full = Path.Combine(root, dir);
            if (!Directory.Exists(full))
            {
                continue;
            }
            foreach (string file in Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories))
            {
                string sep = Path.DirectorySeparatorChar.ToString();
                if (file.Contains(sep + "bin" + sep, StringComparison.Ordinal) || file.Contains(sep + "obj" + sep, StringComparison.Ordinal)
                    || file.EndsWith(nameof(CitationTests) + ".cs", StringComparison.Ordinal) || !IsText(file))
                {
                    continue;
                }
                yield return (file, File.ReadAllText(file));
            }
        }
    }

    private static IEnumerable<(string File, string Text)> Docs(string root)
    {
        foreach (string file in Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md"))
        {
            yield return (file, File.ReadAllText(file));
        }
        yield return (Path.Combine(root, "README.md"), File.ReadAllText(Path.Combine(root, "README.md")));
    }

    private static bool IsText(string file) =>
        Path.GetExtension(file) is ".cs" or ".sh" or ".ps1" or ".wxs" or ".md" or ".service" or ".txt" or ""
        && !file.EndsWith("system-packages.txt", StringComparison.Ordinal);

    [GeneratedRegex(@"docs/(?<page>[a-z0-9-]+\.md) §(?<section>\d+(?:\.\d+)*)")]
    private static partial Regex SectionCitation();

    [GeneratedRegex(@"^#{1,6} §?(?<section>\d+(?:\.\d+)*)\.?\s")]
    private static partial Regex Heading();

    [GeneratedRegex(@"\.\./shared|/work/shared|\bDESIGN(?:\.md)? ?§|(?<!docs/)session-spec(?:\.md)? ?§|platform-notes|perf-notes|\bissue \d+\b")]
    private static partial Regex OutsideCitation();
}
