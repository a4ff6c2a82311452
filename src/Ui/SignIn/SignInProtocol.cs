using System.Text;

namespace JumpingVpn.Ui.SignIn;

/// <summary>
/// The manager's local control socket (docs/ui.md "Signing in"): the client writes one line <c>signin</c>; the
/// manager answers one line, <c>ok URL</c> with a one-time sign-in link, or <c>denied REASON</c>.
/// </summary>
public static class SignInProtocol
{
    public const string Request = "signin";
    public const string Ok = "ok ";
    public const string Denied = "denied ";

    /// <summary>The Unix socket's default path (Linux).</summary>
    public const string DefaultSocketPath = "/run/jvpn/manager.sock";

    /// <summary>The named pipe's name (Windows): <c>\\.\pipe\jvpn-manager</c>.</summary>
    public const string PipeName = "jvpn-manager";

    /// <summary>The group whose members may sign in besides root / Administrators.</summary>
    public const string Group = "jvpn";

    /// <summary>Longest request line read; anything longer is refused.</summary>
    public const int MaxLine = 64;

    /// <summary>One line (without the newline), or null when the peer sent more than <see cref="MaxLine"/> or hung up first.</summary>
    public static async Task<string?> ReadLineAsync(Stream stream, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var line = new StringBuilder();
        byte[] one = new byte[1];
        while (line.Length <= MaxLine)
        {
            int n = await stream.ReadAsync(one, cancel);
            if (n == 0)
            {
                break;
            }
            if (one[0] == (byte)'\n')
            {
                return line.ToString();
            }
            line.Append((char)one[0]);
        }
        return null;
    }
}
