using System.IO.Pipes;
using System.Runtime.Versioning;
using System.Security.AccessControl;
using System.Security.Principal;
using System.Text;

namespace JumpingVpn.Ui.SignIn;

/// <summary>
/// The manager's sign-in channel on Windows (docs/ui.md "Signing in"): the named pipe <c>\\.\pipe\jvpn-manager</c>
/// whose ACL lets in only SYSTEM, Administrators and the local group <c>jvpn</c> (when it exists); the pipe's ACL
/// is the access check, so every connection that opens gets a link. Compiled and structure-tested here, not yet
/// run on Windows (docs/ui.md "Status").
/// </summary>
[SupportedOSPlatform("windows")]
public sealed class WindowsSignInPipe : IAsyncDisposable
{
    private readonly Func<Uri> _issue;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;

    private WindowsSignInPipe(Func<Uri> issue)
    {
        _issue = issue;
        _serving = Task.Run(ServeAsync);
    }

    public static WindowsSignInPipe Start(Func<Uri> issue)
    {
        ArgumentNullException.ThrowIfNull(issue);
        return new WindowsSignInPipe(issue);
    }

    private static SecurityIdentifier? JvpnGroup()
    {
        try
        {
            return (SecurityIdentifier)new NTAccount(SignInProtocol.Group).Translate(typeof(SecurityIdentifier));
        }
        catch (IdentityNotMappedException)
        {
            return null;
        }
    }

    private async Task ServeAsync()
    {
        var security = new PipeSecurity();
        foreach ((string sid, PipeAccessRights rights) in SignInPipeAccess.Rules(JvpnGroup()?.Value))
        {
            security.AddAccessRule(new PipeAccessRule(new SecurityIdentifier(sid), rights, AccessControlType.Allow));
        }
        while (!_stop.IsCancellationRequested)
        {
            await using NamedPipeServerStream pipe = NamedPipeServerStreamAcl.Create(SignInProtocol.PipeName, PipeDirection.InOut,
                NamedPipeServerStream.MaxAllowedServerInstances, PipeTransmissionMode.Byte, PipeOptions.Asynchronous, 0, 0, security);
            try
            {
                await pipe.WaitForConnectionAsync(_stop.Token);
                using var bound = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                bound.CancelAfter(TimeSpan.FromSeconds(5));
                string? line = await SignInProtocol.ReadLineAsync(pipe, bound.Token);
                string answer = line == SignInProtocol.Request ? SignInProtocol.Ok + _issue() : SignInProtocol.Denied + "unknown request (expected `signin`)";
                await pipe.WriteAsync(Encoding.UTF8.GetBytes(answer + "\n"), bound.Token);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException)
            {
                // A client that hangs up gets nothing; the next one connects to a fresh pipe instance.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _serving;
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}
