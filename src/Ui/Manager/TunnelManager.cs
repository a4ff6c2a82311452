using System.Globalization;
using JumpingVpn.Control.Config;
using JumpingVpn.Ui.Hosting;

namespace JumpingVpn.Ui.Manager;

/// <summary>A tunnel as the tunnels page lists it.</summary>
public sealed record ManagedTunnel(string Name, string InterfaceName, TunnelState State, bool IsServer, bool StartAtBoot, string? Problem);

/// <summary>A refused change, with the one-line reason a page shows (unknown tunnel, invalid config, still active).</summary>
public sealed class ManagerException(string message, ConfigProblem? problem = null) : Exception(message)
{
    public ConfigProblem? Problem { get; } = problem;
}

/// <summary>
/// The manager (docs/ui.md "The manager"): the tunnels in its config directory, each run as a <c>jvpn up</c> child
/// process when active, the start-at-boot set, and each tunnel's daemon log. It restarts nothing by itself except the
/// start-at-boot tunnels when it starts: a tunnel that dies is shown Failed with its log, and the user decides.
/// </summary>
public sealed class TunnelManager : ITunnelDirectory, IAsyncDisposable
{
    private readonly ManagerOptions _options;
    private readonly ManagerStateFile _stateFile;
    private readonly Lock _lock = new();
    // Serialises state-file writes: each takes its snapshot after the previous write, so the newest state wins.
    private readonly Lock _saveLock = new();
    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private readonly HashSet<string> _startAtBoot = new(StringComparer.Ordinal);
    private bool _disposed;

    private sealed class Slot(int logLines)
    {
        public TunnelState State { get; set; } = TunnelState.Inactive;

        public TunnelChild? Child { get; set; }

        public LogRing Log { get; } = new(logLines);

        public string? Problem { get; set; }
    }

    private TunnelManager(ManagerOptions options)
    {
        _options = options;
        Configs = new ConfigDirectory(options.ConfigDirectory);
        _stateFile = new ManagerStateFile(options.StateDirectory);
    }

    public ConfigDirectory Configs { get; }

    /// <summary>Loads the saved state and starts the start-at-boot tunnels (a bad config is logged and shown Failed).</summary>
    public static TunnelManager Start(ManagerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var manager = new TunnelManager(options);
        ManagerState state = manager._stateFile.Load();
        foreach (string name in state.StartAtBoot)
        {
            if (TunnelNames.IsValid(name) && manager.Configs.Exists(name))
            {
                manager._startAtBoot.Add(name);
            }
        }
        foreach (string name in manager._startAtBoot.Order(StringComparer.Ordinal))
        {
            try
            {
                manager.Activate(name);
            }
            catch (ManagerException e)
            {
                manager.SlotOf(name).Log.Add(new TunnelLogLine(options.Time.GetUtcNow(), "[manager] start at boot failed: " + e.Message));
            }
        }
        manager.SaveState();
        return manager;
    }

    public IReadOnlyList<TunnelEntry> List()
    {
        var result = new List<TunnelEntry>();
        foreach (ManagedTunnel t in Tunnels())
        {
            result.Add(new TunnelEntry(t.Name, t.InterfaceName, t.State, Configs.FileOf(t.Name), t.IsServer));
        }
        return result;
    }

    public IReadOnlyList<TunnelLogLine> Log(string tunnel, int max)
    {
        lock (_lock)
        {
            return _slots.TryGetValue(tunnel, out Slot? slot) ? slot.Log.Last(max) : [];
        }
    }

    /// <summary>Every tunnel with a config file, plus any still running whose file was removed meanwhile.</summary>
    public IReadOnlyList<ManagedTunnel> Tunnels()
    {
        IReadOnlyList<string> names = Configs.Names();
        var result = new List<ManagedTunnel>();
        lock (_lock)
        {
            var all = new SortedSet<string>(names, StringComparer.Ordinal);
            foreach ((string name, Slot slot) in _slots)
            {
                if (slot.State != TunnelState.Inactive)
                {
                    all.Add(name);
                }
            }
            foreach (string name in all)
            {
                Slot slot = SlotOf(name);
                if (slot.State == TunnelState.Starting && _options.InterfaceRunning(name))
                {
                    slot.State = TunnelState.Active;
                }
                result.Add(new ManagedTunnel(name, name, slot.State, IsServer(name), _startAtBoot.Contains(name), slot.Problem));
            }
        }
        return result;
    }

    /// <summary>Starts the tunnel's <c>jvpn up</c>; its config is checked first so a bad one is refused here with its line.</summary>
    public void Activate(string name)
    {
        string text = ReadConfig(name);
        if (ConfigCheck.Check(name, text, out ConfigProblem? problem) is null)
        {
            throw new ManagerException($"{name} cannot start: {problem!.Message}", problem);
        }
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Slot slot = SlotOf(name);
            if (slot.State is TunnelState.Starting or TunnelState.Active or TunnelState.Stopping)
            {
                return;
            }
            slot.Child?.Dispose();
            slot.Problem = null;
            slot.State = TunnelState.Starting;
            slot.Child = TunnelChild.Start(_options.Child, Configs.FileOf(name), name, slot.Log, _options.Time, (child, code) => OnExited(name, child, code));
        }
        SaveState();
    }

    /// <summary>Stops the tunnel (SIGTERM, killed after the stop timeout) and waits until its process is gone.</summary>
    public async Task DeactivateAsync(string name)
    {
        TunnelChild? child;
        lock (_lock)
        {
            if (!_slots.TryGetValue(name, out Slot? slot) || slot.Child is null || slot.State is TunnelState.Inactive or TunnelState.Failed)
            {
                return;
            }
            slot.State = TunnelState.Stopping;
            child = slot.Child;
        }
        await child.StopAsync(_options.StopTimeout);
        SaveState();
    }

    public void SetStartAtBoot(string name, bool on)
    {
        _ = ReadConfig(name);
        lock (_lock)
        {
            if (on)
            {
                _startAtBoot.Add(name);
            }
            else
            {
                _startAtBoot.Remove(name);
            }
        }
        SaveState();
    }

    /// <summary>The config text of a known tunnel.</summary>
    public string ReadConfig(string name)
    {
        if (TunnelNames.Problem(name) is string bad)
        {
            throw new ManagerException(bad);
        }
        if (!Configs.Exists(name))
        {
            throw new ManagerException($"there is no tunnel named {name} (no {name}.conf in {Configs.Path})");
        }
        return Configs.Read(name);
    }

    /// <summary>
    /// Saves config text after checking it with the real parsers; a new tunnel must not overwrite an existing one.
    /// Changes to an active tunnel take effect at its next activation.
    /// </summary>
    public void Save(string name, string text, bool create)
    {
        if (ConfigCheck.Check(name, text, out ConfigProblem? problem) is null)
        {
            throw new ManagerException(problem!.Message, problem);
        }
        lock (_lock)
        {
            if (create && Configs.Exists(name))
            {
                throw new ManagerException($"a tunnel named {name} exists already: pick another name or edit that one");
            }
            if (!create && !Configs.Exists(name))
            {
                throw new ManagerException($"there is no tunnel named {name} to change");
            }
            Configs.Write(name, text);
        }
    }

    /// <summary>Removes an inactive tunnel's config; an active one must be deactivated first.</summary>
    public void Delete(string name)
    {
        _ = ReadConfig(name);
        lock (_lock)
        {
            if (_slots.TryGetValue(name, out Slot? slot) && slot.State is TunnelState.Starting or TunnelState.Active or TunnelState.Stopping)
            {
                throw new ManagerException($"{name} is active: deactivate it before deleting it");
            }
            Configs.Delete(name);
            _startAtBoot.Remove(name);
            if (slot is not null)
            {
                slot.Child?.Dispose();
                _slots.Remove(name);
            }
        }
        SaveState();
    }

    private void OnExited(string name, TunnelChild child, int code)
    {
        lock (_lock)
        {
            if (!_slots.TryGetValue(name, out Slot? slot) || !ReferenceEquals(slot.Child, child))
            {
                return;
            }
            if (child.StopRequested)
            {
                slot.State = TunnelState.Inactive;
            }
            else
            {
                slot.State = TunnelState.Failed;
                slot.Problem = string.Create(CultureInfo.InvariantCulture, $"jvpn up exited with code {code}: see the log");
            }
        }
        if (!_disposed)
        {
            SaveState();
        }
    }

    private bool IsServer(string name)
    {
        try
        {
            return Configs.Exists(name) && ConfigCheck.Check(name, Configs.Read(name), out _) is TunnelConfig config && ConfigCheck.IsServer(config);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private Slot SlotOf(string name)
    {
        if (!_slots.TryGetValue(name, out Slot? slot))
        {
            slot = new Slot(_options.LogLines);
            _slots[name] = slot;
        }
        return slot;
    }

    private void SaveState()
    {
        lock (_saveLock)
        {
            SaveStateLocked();
        }
    }

    private void SaveStateLocked()
    {
        ManagerState state;
        lock (_lock)
        {
            var active = new List<string>();
            foreach ((string name, Slot slot) in _slots)
            {
                if (slot.State is TunnelState.Starting or TunnelState.Active)
                {
                    active.Add(name);
                }
            }
            active.Sort(StringComparer.Ordinal);
            state = new ManagerState(active, [.. _startAtBoot.Order(StringComparer.Ordinal)]);
        }
        _stateFile.Save(state);
    }

    /// <summary>Stops every running tunnel (in parallel, each bounded by the stop timeout).</summary>
    public async ValueTask DisposeAsync()
    {
        var stops = new List<Task>();
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            foreach (Slot slot in _slots.Values)
            {
                if (slot.Child is not null && slot.State is TunnelState.Starting or TunnelState.Active or TunnelState.Stopping)
                {
                    slot.State = TunnelState.Stopping;
                    stops.Add(slot.Child.StopAsync(_options.StopTimeout));
                }
            }
        }
        await Task.WhenAll(stops);
        lock (_lock)
        {
            _disposed = true;
            foreach (Slot slot in _slots.Values)
            {
                slot.Child?.Dispose();
            }
        }
    }
}
