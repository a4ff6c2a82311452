using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using JumpingVpn.Platform;

namespace JumpingVpn.Ui.SignIn;

/// <summary>
/// The manager's sign-in socket on Linux (docs/ui.md "Signing in"): a Unix socket, mode 0660 and group <c>jvpn</c>
/// when that group exists (else 0600 root), answering each connection whose peer (SO_PEERCRED: uid, gid, and the
/// pid's supplementary groups) is root or in group <c>jvpn</c> with a fresh one-time sign-in link.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class UnixSignInSocket : IAsyncDisposable
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    private readonly Socket _listener;
    private readonly Func<Uri> _issue;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly uint? _group;

    private UnixSignInSocket(Socket listener, string path, Func<Uri> issue, uint? group)
    {
        _listener = listener;
        Path = path;
        _issue = issue;
        _group = group;
        _accepting = Task.Run(AcceptLoopAsync);
    }

    public string Path { get; }

    /// <summary>Listens on <paramref name="path"/>; refuses when another manager answers there, replaces a stale file.</summary>
    /// <exception cref="IOException">Another manager runs, or the socket cannot be created (the message names the path).</exception>
    public static UnixSignInSocket Start(string path, Func<Uri> issue)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(issue);
        string? directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (directory is not null && !Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
        if (File.Exists(path))
        {
            if (IsAnswering(path))
            {
                throw new IOException($"another jvpn manager is running (it answers on {path}); stop it first (sudo systemctl stop jvpn-manager)");
            }
            File.Delete(path);
        }
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            uint? group = FileOwner.TryGetGroupId(SignInProtocol.Group, out uint gid) ? gid : null;
            if (group is uint g)
            {
                FileOwner.Set(path, FileOwner.Unchanged, g);
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
            }
            else
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            listener.Listen(16);
            return new UnixSignInSocket(listener, path, issue, group);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new IOException($"cannot listen on {path}: {e.Message}", e);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    private static bool IsAnswering(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = Task.Run(() => AnswerAsync(client));
        }
    }

    private async Task AnswerAsync(Socket client)
    {
        using (client)
        {
            try
            {
                using var bound = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                bound.CancelAfter(TimeSpan.FromSeconds(5));
                await using var stream = new NetworkStream(client, ownsSocket: false);
                string? line = await ReadLineAsync(stream, bound.Token);
                string answer = line != SignInProtocol.Request
                    ? SignInProtocol.Denied + "unknown request (expected `signin`)"
                    : Authorize(client) is string refusal
                        ? SignInProtocol.Denied + refusal
                        : SignInProtocol.Ok + _issue();
                await stream.WriteAsync(Encoding.UTF8.GetBytes(answer + "\n"), bound.Token);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
                // A peer that hangs up or stalls gets nothing; the next `jvpn ui` connects afresh.
            }
        }
    }

    /// <summary>Null when the peer may sign in, else why not.</summary>
    private string? Authorize(Socket client)
    {
        Span<byte> cred = stackalloc byte[12];
        int length = client.GetRawSocketOption(SolSocket, SoPeerCred, cred);
        if (length < 12)
        {
            return "the manager could not tell who is asking (SO_PEERCRED)";
        }
        int pid = BinaryPrimitives.ReadInt32LittleEndian(cred);
        uint uid = BinaryPrimitives.ReadUInt32LittleEndian(cred[4..]);
        uint gid = BinaryPrimitives.ReadUInt32LittleEndian(cred[8..]);
        IReadOnlyList<uint> groups = [];
        if (uid != 0 && _group is not null)
        {
            try
            {
                groups = SignInAccess.GroupsFromProcStatus(File.ReadAllText("/proc/" + pid + "/status"));
            }
            catch (IOException)
            {
                groups = [];
            }
        }
        return SignInAccess.IsAllowed(uid, gid, groups, _group) ? null : SignInAccess.DeniedMessage(uid);
    }

    private static Task<string?> ReadLineAsync(Stream stream, CancellationToken cancel) => SignInProtocol.ReadLineAsync(stream, cancel);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }
        File.Delete(Path);
        _stop.Dispose();
    }
}
