namespace JumpingVpn.Ui.Manager;

/// <summary>
/// Where the manager keeps its tunnels and state, how it starts a tunnel, and where its UI and sign-in socket
/// listen (docs/ui.md "The manager").
/// </summary>
public sealed class ManagerOptions
{
    /// <summary>One <c>NAME.conf</c> per tunnel (default /etc/jvpn).</summary>
    public required string ConfigDirectory { get; init; }

    /// <summary>Holds <c>manager-state.json</c>: which tunnels are active and which start at boot (default /var/lib/jvpn).</summary>
    public required string StateDirectory { get; init; }

    /// <summary>The program and leading arguments that run jvpn; <c>up CONFIG</c> is appended for a tunnel.</summary>
    public required ChildCommand Child { get; init; }

    /// <summary>True when the interface's control endpoint exists, i.e. the tunnel finished starting.</summary>
    public Func<string, bool> InterfaceRunning { get; init; } = name => JumpingVpn.Control.Uapi.Transport.UapiTransports.Default.Exists(name);

    /// <summary>How long a stopping tunnel may take after SIGTERM before it is killed.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Lines of daemon log kept per tunnel.</summary>
    public int LogLines { get; init; } = 2000;

    /// <summary>Clock for log time stamps.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>A program and its leading arguments, e.g. <c>/usr/bin/jvpn</c> or <c>dotnet /path/jvpn.dll</c>.</summary>
public sealed record ChildCommand(string FileName, IReadOnlyList<string> LeadingArguments);
