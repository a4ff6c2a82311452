using System.Text.RegularExpressions;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Packaging.Windows;

/// <summary>
/// install.ps1 read as text (there is no Windows here to run it): the commands that secure the install
/// must be present, in an order that makes them effective, and the unsafe forms absent.
/// </summary>
public sealed partial class InstallScriptTests
{
    private static readonly string Script = File.ReadAllText(Path.Combine(RepositoryRoot.Find(), "packaging", "windows", "install.ps1"));

    /// <summary>The script without comment lines, so a comment cannot satisfy a check.</summary>
    private static readonly string Code = string.Join('\n', Script.Split('\n').Where(l => !l.TrimStart().StartsWith('#')));

    /// <summary>Each needle occurs in the code after the previous one.</summary>
    private static void InOrder(params string[] needles)
    {
        int at = 0;
        for (int k = 0; k < needles.Length; k++)
        {
            int i = Code.IndexOf(needles[k], at, StringComparison.Ordinal);
            Assert.True(i >= 0, k == 0
                ? $"install.ps1 lacks: {needles[k]}"
                : $"install.ps1 lacks '{needles[k]}' after '{needles[k - 1]}'");
            at = i + needles[k].Length;
        }
    }

    [Fact]
    public void The_wintun_signer_is_compared_exactly_not_as_a_substring()
    {
        Assert.DoesNotMatch(@"Subject\s+-(not)?(match|like)", Code);
        Assert.Contains("$wintunSigner = 'WireGuard LLC'", Code, StringComparison.Ordinal);
        InOrder("$sig.Status -ne 'Valid'", "X509NameType]::SimpleName", "$signerName -cne $wintunSigner", "throw \"wintun.dll is not signed by");
    }

    [Fact]
    public void Only_the_named_package_files_are_copied()
    {
        Assert.DoesNotContain("Get-ChildItem -Path $source", Code, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"Extension\s+-in", Code);
        Assert.DoesNotMatch(@"\*\.dll", Code);
        Match list = PackageFilesList().Match(Code);
        Assert.True(list.Success, "install.ps1 has no $packageFiles = @(...) list");
        string[] named = [.. QuotedName().Matches(list.Groups[1].Value).Select(m => m.Groups[1].Value)];
        // Everything the MSI installs into Program Files is in the list, and nothing else that is a DLL.
        string wxs = File.ReadAllText(Path.Combine(RepositoryRoot.Find(), "packaging", "windows", "jvpn.wxs"));
        string[] msiFiles = [.. WxsFileSource().Matches(wxs).Select(m => m.Groups[1].Value)];
        Assert.NotEmpty(msiFiles);
        Assert.All(msiFiles, f => Assert.Contains(f, named));
        Assert.Equal(["libsodium.dll", "wintun.dll"], named.Where(n => n.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal));
        InOrder("foreach ($name in $packageFiles)", "Join-Path $source $name", "Copy-Item -Force -LiteralPath $file -Destination $installDir");
    }

    [Fact]
    public void An_existing_config_directory_is_taken_over_and_its_acl_replaced_before_configs_are_written()
    {
        // The old form only replaced the two named grants and kept every other entry and the owner.
        Assert.DoesNotContain("/grant:r", Code, StringComparison.Ordinal);
        Assert.DoesNotContain("'SYSTEM:", Code, StringComparison.Ordinal);
        InOrder(
            "[IO.FileAttributes]::ReparsePoint", // a junction would redirect everything below
            "takeown.exe /F $configDir /A",
            "if ($LASTEXITCODE -ne 0)",
            "New-Object Security.AccessControl.DirectorySecurity",
            "$acl.SetAccessRuleProtection($true, $false)",
            "'S-1-5-18'",
            "'S-1-5-32-544'",
            "'FullControl'",
            "Set-Acl -LiteralPath $configDir -AclObject $acl",
            "Get-ChildItem -LiteralPath $configDir -Recurse -Force",
            "takeown.exe /F $child.FullName /A",
            "icacls.exe \"$configDir\\*\" /reset /T /C /Q",
            "Copy-Item -Force -Path $ConfigFile -Destination $configPath",
            "New-Service");
        Assert.Equal(1, Regex.Count(Code, @"\$acl\.AddAccessRule")); // in the loop over the two SIDs only
        Assert.Contains("foreach ($sid in $systemSid, $adminsSid)", Code, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\$packageFiles\s*=\s*@\(([^)]*)\)")]
    private static partial Regex PackageFilesList();

    [GeneratedRegex(@"'([^']+)'")]
    private static partial Regex QuotedName();

    [GeneratedRegex(@"<File [^>]*Source=""([^""]+)""")]
    private static partial Regex WxsFileSource();
}
