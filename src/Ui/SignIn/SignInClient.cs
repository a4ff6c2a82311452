using System.IO.Pipes;
using System.Net.Sockets;
using System.Text;
using JumpingVpn.Control.Hosting;

namespace JumpingVpn.Ui.SignIn;

/// <summary>Why <c>jvpn ui</c> got no link, in one line with the fix.</summary>
public sealed class SignInException(string message, bool permission) : Exception(message)
{
    /// <summary>True when the user lacks access (not in group jvpn), false when the manager is not there.</summary>
    public bool Permission { get; } = permission;
}

/// <summary>
/// <c>jvpn ui</c>'s side of the sign-in channel (docs/ui.md "Signing in"): asks the manager for a one-time link.
/// </summary>
public static class SignInClient
{
    private static string NotRunning(string where) =>
        "the jvpn manager is not running" + where + ": start it with `sudo systemctl start jvpn-manager` (or run `sudo jvpn manager`)";

    private static string NoPermission(string path) =>
        "permission denied on " + path + ": only root and members of group jvpn may open the UI; run `sudo usermod -aG jvpn $USER`, then log out and in";

    /// <summary>The link; <paramref name="socketPath"/> is the Unix socket (Linux) and ignored on Windows (the pipe).</summary>
    public static async Task<Uri> RequestAsync(string socketPath, CancellationToken cancel)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        bound.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            string? line;
            if (HostComposition.Current.NativeNamedPipes)
            {
                await using var pipe = new NamedPipeClientStream(".", SignInProtocol.PipeName, PipeDirection.InOut, PipeOptions.Asynchronous);
                try
                {
                    await pipe.ConnectAsync(2000, bound.Token);
                }
                catch (TimeoutException)
                {
                    throw new SignInException(NotRunning(""), permission: false);
                }
                catch (UnauthorizedAccessException)
                {
                    throw new SignInException(@"access denied to \\.\pipe\jvpn-manager: only Administrators and members of the local group jvpn may open the UI (add yourself to group jvpn, then sign out and in)", permission: true);
                }
                line = await Exchange(pipe, bound.Token);
            }
            else
            {
                using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), bound.Token);
                }
                catch (SocketException e)
                {
                    throw e.SocketErrorCode == SocketError.AccessDenied
                        ? new SignInException(NoPermission(socketPath), permission: true)
                        : new SignInException(NotRunning($" (nothing answers on {socketPath})"), permission: false);
                }
                await using var stream = new NetworkStream(socket, ownsSocket: false);
                line = await Exchange(stream, bound.Token);
            }
            if (line is not null && line.StartsWith(SignInProtocol.Ok, StringComparison.Ordinal)
                && Uri.TryCreate(line[SignInProtocol.Ok.Length..], UriKind.Absolute, out Uri? link))
            {
                return link;
            }
            if (line is not null && line.StartsWith(SignInProtocol.Denied, StringComparison.Ordinal))
            {
                throw new SignInException("the manager refused: " + line[SignInProtocol.Denied.Length..], permission: true);
            }
            throw new SignInException($"the manager's answer was not understood ({line ?? "no answer"}): are `jvpn` and the manager the same version?", permission: false);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new SignInException("the jvpn manager did not answer within 5 s: check it with `systemctl status jvpn-manager`", permission: false);
        }
        catch (IOException e)
        {
            throw new SignInException("the connection to the jvpn manager broke: " + e.Message, permission: false);
        }
    }

    private static async Task<string?> Exchange(Stream stream, CancellationToken cancel)
    {
        await stream.WriteAsync(Encoding.UTF8.GetBytes(SignInProtocol.Request + "\n"), cancel);
        byte[] buffer = new byte[1024];
        var text = new StringBuilder();
        while (text.Length < 4096)
        {
            int n = await stream.ReadAsync(buffer, cancel);
            if (n == 0)
            {
                break;
            }
            text.Append(Encoding.UTF8.GetString(buffer, 0, n));
            int newline = text.ToString().IndexOf('\n', StringComparison.Ordinal);
            if (newline >= 0)
            {
                return text.ToString(0, newline);
            }
        }
        return text.Length > 0 ? text.ToString() : null;
    }
}
