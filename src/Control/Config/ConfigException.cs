using System.Text;

namespace JumpingVpn.Control.Config;

/// <summary>
/// A configuration file that cannot be used. <see cref="Exception.Message"/> is complete on its own
/// ("file:line: Key: what is wrong and how to fix it") because the CLI prints only the message, never a
/// stack trace: the user has to be able to fix the file from that one line.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException()
    {
    }

    public ConfigException(string message)
        : base(message)
    {
        Problem = message;
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Problem = message;
    }

    public ConfigException(string? file, int? line, string? key, string problem, Exception? innerException = null)
        : base(Format(file, line, key, problem), innerException)
    {
        File = file;
        Line = line;
        Key = key;
        Problem = problem;
    }

    /// <summary>The configuration file (as the user named it), or null when the text did not come from a file.</summary>
    public string? File { get; }

    /// <summary>1-based line number, or null when the problem concerns the file as a whole.</summary>
    public int? Line { get; }

    /// <summary>The key as wg-quick spells it ("ListenPort"), or as written when it is unknown.</summary>
    public string? Key { get; }

    /// <summary>The message without its location prefix.</summary>
    public string? Problem { get; }

    /// <summary>Why a file could not be read, in words that point at the fix (the BCL's access message
    /// repeats the path the caller already printed).</summary>
    internal static string ReadFailure(Exception e) => e is UnauthorizedAccessException
        ? "permission denied (run jvpn as root, or let the user running it read the file: for the packaged jvpn@ service `chown root:jvpn FILE && chmod 640 FILE`, otherwise chown it to that user and chmod 600)"
        : e.Message;

    internal static string Format(string? file, int? line, string? key, string problem)
    {
        var sb = new StringBuilder();
        if (!string.IsNullOrEmpty(file))
        {
            sb.Append(file);
            if (line is int l)
            {
                sb.Append(':').Append(l.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            sb.Append(": ");
        }
        else if (line is int l)
        {
            sb.Append("line ").Append(l.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(": ");
        }
        if (!string.IsNullOrEmpty(key))
        {
            sb.Append(key).Append(": ");
        }
        sb.Append(problem);
        return sb.ToString();
    }
}
