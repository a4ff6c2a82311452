using System.Collections.Concurrent;
using System.Text;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Platform;
using JumpingVpn.Platform.Net;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// Inner-address routing after a failover (docs/cluster.md "Owner hooks"): return traffic for a client's
/// inner address must reach the node that owns its session now. jvpn cannot move routes in someone else's
/// network, so it runs the operator's commands when it starts or stops owning a session: `[Jumping]
/// OwnerUp = ...` and `OwnerDown = ...`. A template is split into words once, at config load, and run as
/// argv, never through a shell: a placeholder is replaced inside the word it stands in and never makes
/// more words. %a = one inner prefix (the command runs once per prefix), %s = session id, %n = node id,
/// %i = interface, %% = a literal %. Every value is validated first (inner addresses arrive from the
/// store, which is untrusted input): a value that is not an IP prefix or session id runs nothing.
/// Commands run in order on one background thread, never on the packet or control path, each bounded by
/// the hook timeout. That thread first starts one harmless process (`true`) when a hook is configured: a
/// process's first child costs 50-90 ms more than later ones (measured on the 2-vCPU test VM), and the first
/// hook of a node is the OwnerUp that return traffic waits for after a failover or drain (docs/cluster.md
/// "Owner hooks").
/// </summary>
public sealed class OwnerRouteHooks : IDisposable
{
    private readonly BlockingCollection<string[]> _queue = new(boundedCapacity: 1024);
    private readonly Thread _worker;
    private readonly ILogger _logger;
    private readonly TimeSpan _timeout;
    private readonly string[]? _up;
    private readonly string[]? _down;
    private long _run;
    private long _failed;
    private long _refused;
    private readonly ManualResetEventSlim _warm = new(false);

    public OwnerRouteHooks(string? ownerUp, string? ownerDown, string interfaceName, string nodeId, ILogger logger, TimeSpan? timeout = null)
    {
        _up = string.IsNullOrWhiteSpace(ownerUp) ? null : ParseTemplate(ownerUp, "OwnerUp");
        _down = string.IsNullOrWhiteSpace(ownerDown) ? null : ParseTemplate(ownerDown, "OwnerDown");
        OwnerUp = _up is null ? null : ownerUp;
        OwnerDown = _down is null ? null : ownerDown;
        InterfaceName = interfaceName;
        NodeId = nodeId;
        _logger = logger;
        _timeout = timeout ?? TimeSpan.FromSeconds(10);
        _worker = new Thread(Work) { IsBackground = true, Name = "jvpn-owner-hooks" };
        _worker.Start();
    }

    public string? OwnerUp { get; }

    public string? OwnerDown { get; }

    public string InterfaceName { get; }

    public string NodeId { get; }

    /// <summary>Commands that ran (whatever their exit code).</summary>
    public long CommandsRun => Interlocked.Read(ref _run);

    /// <summary>Commands that exited non-zero, timed out or could not start.</summary>
    public long CommandsFailed => Interlocked.Read(ref _failed);

    /// <summary>Hook calls refused because a value was not a valid session id or IP prefix (nothing ran).</summary>
    public long ValuesRefused => Interlocked.Read(ref _refused);

    /// <summary>Set once the worker has started its warm-up process (or had none to start) and takes hooks.</summary>
    public WaitHandle WarmedUp => _warm.WaitHandle;

    /// <summary>How long the warm-up process took (ms); -1 when none ran (no hook, or no `true` on PATH).</summary>
    public double WarmUpMs { get; private set; } = -1;

    public void Up(string sessionId, string innerAddresses) => Enqueue(_up, sessionId, innerAddresses);

    public void Down(string sessionId, string innerAddresses) => Enqueue(_down, sessionId, innerAddresses);

    /// <summary>
    /// Splits a hook template into words: blanks separate words; '...' and "..." group a word (no
    /// expansion of any kind inside); a backslash outside single quotes takes the next character literally.
    /// </summary>
    public static string[] ParseTemplate(string template, string key)
    {
        ArgumentNullException.ThrowIfNull(template);
        var words = new List<string>();
        var word = new StringBuilder();
        bool inWord = false;
        char quote = '\0';
        for (int i = 0; i < template.Length; i++)
        {
            char c = template[i];
            if (quote == '\'')
            {
                if (c == '\'')
                {
                    quote = '\0';
                }
                else
                {
                    word.Append(c);
                }
            }
            else if (c == '\\' && i + 1 < template.Length)
            {
                word.Append(template[++i]);
                inWord = true;
            }
            else if (quote == '"')
            {
                if (c == '"')
                {
                    quote = '\0';
                }
                else
                {
                    word.Append(c);
                }
            }
            else if (c is '\'' or '"')
            {
                quote = c;
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }
        if (quote != '\0')
        {
            throw new ConfigException(null, null, key, $"unbalanced {quote} quote in '{template}'");
        }
        if (inWord)
        {
            words.Add(word.ToString());
        }
        if (words.Count == 0)
        {
            throw new ConfigException(null, null, key, "names no program");
        }
        if (words[0].Contains('%', StringComparison.Ordinal))
        {
            throw new ConfigException(null, null, key, $"the program '{words[0]}' must be a fixed path, not a placeholder");
        }
        return [.. words];
    }

    private void Enqueue(string[]? template, string sessionId, string innerAddresses)
    {
        if (template is null || innerAddresses.Length == 0)
        {
            return;
        }
        if (!SessionId.TryParse(sessionId, out SessionId id)
            || StoreRecordCheck.InnerProblem(innerAddresses, StoreRecordCheck.MaxInnerPrefixes, out List<IpPrefix> prefixes) is not null)
        {
            Interlocked.Increment(ref _refused);
            _logger.LogWarning("cluster: owner hook not run: session {Session} inner {Inner} is not a session id and IP prefixes",
                StoreRecordCheck.Excerpt(sessionId), StoreRecordCheck.Excerpt(innerAddresses));
            return;
        }
        bool perPrefix = Array.Exists(template, w => w.Contains("%a", StringComparison.Ordinal));
        foreach (IpPrefix prefix in prefixes)
        {
            string[] argv = Expand(template, prefix.ToString(), id.ToString());
            if (!_queue.TryAdd(argv))
            {
                _logger.LogWarning("cluster: owner hook queue full; dropped: {Command}", string.Join(' ', argv));
            }
            if (!perPrefix)
            {
                break;
            }
        }
    }

    /// <summary>Placeholders replaced inside each word; the word count never changes.</summary>
    private string[] Expand(string[] template, string prefix, string sessionId)
    {
        var argv = new string[template.Length];
        var sb = new StringBuilder();
        for (int w = 0; w < template.Length; w++)
        {
            string t = template[w];
            sb.Clear();
            for (int i = 0; i < t.Length; i++)
            {
                if (t[i] != '%' || i + 1 == t.Length)
                {
                    sb.Append(t[i]);
                    continue;
                }
                char p = t[++i];
                _ = p switch
                {
                    'a' => sb.Append(prefix),
                    's' => sb.Append(sessionId),
                    'n' => sb.Append(NodeId),
                    'i' => sb.Append(InterfaceName),
                    '%' => sb.Append('%'),
                    _ => sb.Append('%').Append(p),
                };
            }
            argv[w] = sb.ToString();
        }
        return argv;
    }

    private void Work()
    {
        WarmUp();
        foreach (string[] argv in _queue.GetConsumingEnumerable())
        {
            string shown = string.Join(' ', argv);
            Interlocked.Increment(ref _run);
            long startedUs = System.Diagnostics.Stopwatch.GetTimestamp() / (System.Diagnostics.Stopwatch.Frequency / 1_000_000);
            try
            {
                ExternalCommand.Result r = ExternalCommand.Run(argv[0], argv[1..], timeout: _timeout);
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    // The drain trace's hook step (docs/cluster.md "Drain"), on the same monotonic clock as the session layer's.
                    _logger.LogDebug("move-trace hook.done session=- mono_us={MonoUs} started_us={StartedUs} {Command}",
                        System.Diagnostics.Stopwatch.GetTimestamp() / (System.Diagnostics.Stopwatch.Frequency / 1_000_000), startedUs, shown);
                }
                if (!r.Ok)
                {
                    Interlocked.Increment(ref _failed);
                    _logger.LogWarning("cluster: owner hook failed ({Code}): {Command}: {Error}", r.ExitCode, shown, r.Error.Trim());
                }
                else
                {
                    _logger.LogInformation("cluster: owner hook: {Command}", shown);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or PlatformException)
            {
                Interlocked.Increment(ref _failed);
                _logger.LogWarning("cluster: owner hook failed: {Command}: {Error}", shown, ex.Message);
            }
        }
    }

    /// <summary>
    /// Starts `true` once (where PATH has one), so the process machinery's first-use cost is paid at start-up instead of by the first
    /// OwnerUp. Not counted as a hook; a failure only costs the warm-up.
    /// </summary>
    private void WarmUp()
    {
        try
        {
            if ((_up is not null || _down is not null) && ExternalCommand.FindOnPath("true") is { } program)
            {
                long start = System.Diagnostics.Stopwatch.GetTimestamp();
                _ = ExternalCommand.Run(program, [], timeout: _timeout);
                WarmUpMs = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or PlatformException)
        {
            _logger.LogDebug("cluster: owner hook warm-up failed: {Error}", ex.Message);
        }
        finally
        {
            _warm.Set();
        }
    }

    /// <summary>Runs what is queued (each command within the hook timeout), then stops the worker.</summary>
    public void Dispose()
    {
        _queue.CompleteAdding();
        _worker.Join(TimeSpan.FromSeconds(5));
        _queue.Dispose();
        if (!_worker.IsAlive)
        {
            _warm.Dispose(); // a worker still inside a timed-out hook sets it no more, but must not find it disposed
        }
    }
}
