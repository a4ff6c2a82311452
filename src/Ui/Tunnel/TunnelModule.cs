using System.Globalization;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Ui.Hosting;
using JumpingVpn.Ui.Tunnel.Timeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JumpingVpn.Ui.Tunnel;

/// <summary>
/// The tunnel page's endpoints (docs/ui.md "Tunnel page", "Timeline"): <c>GET /api/tunnel/{name}/status</c> (read over
/// UAPI on each call, the page asks every second) and <c>GET /api/tunnel/{name}/timeline?since=MS</c> (the recorder's
/// columns after MS). Owns the <see cref="TimelineSampler"/>, started here and stopped with the host.
/// </summary>
public sealed class TunnelModule : IUiModule, IAsyncDisposable
{
    private readonly ITunnelDirectory _directory;
    private readonly TimeProvider _time;
    private readonly string? _socketDirectory;
    private readonly TimelineSampler _sampler;
    private readonly TunnelAddresses _addresses = new();

    /// <param name="socketDirectory">Where the UAPI sockets are; null for the system's (tests pass a temp directory).</param>
    /// <param name="startSampler">False in tests that drive <see cref="Sampler"/> themselves.</param>
    public TunnelModule(ITunnelDirectory directory, TimeProvider time, string? socketDirectory = null, bool startSampler = true)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(time);
        _directory = directory;
        _time = time;
        _socketDirectory = socketDirectory;
        _sampler = new TimelineSampler(directory, time, socketDirectory, TimeSpan.FromSeconds(1));
        if (startSampler)
        {
            _sampler.Start();
        }
    }

    public string Name => "tunnel";

    /// <summary>The sampler behind the timeline (tests call <see cref="TimelineSampler.SampleOnce"/>).</summary>
    public TimelineSampler Sampler => _sampler;

    public void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/tunnel/{name}/status", (string name) => Status(name));
        routes.MapGet("/api/tunnel/{name}/timeline", (string name, HttpRequest request) => Timeline(name, request.Query["since"]));
    }

    private IResult Status(string name)
    {
        if (Find(name) is not { } tunnel)
        {
            return UnknownTunnel(name);
        }
        IReadOnlyList<string> addresses = _addresses.Of(tunnel.ConfigPath);
        if (tunnel.State != TunnelState.Active)
        {
            return Results.Json(TunnelStatusView.NotRunning(tunnel, addresses, null, _sampler.Existing(name)?.Switches() ?? []));
        }
        TunnelReading reading;
        try
        {
            reading = TunnelReading.Read(tunnel.InterfaceName, _socketDirectory);
        }
        catch (UapiException e)
        {
            return Results.Json(TunnelStatusView.NotRunning(tunnel, addresses,
                $"{tunnel.InterfaceName} does not answer on its control socket ({e.Message}); the daemon log below says why", _sampler.Existing(name)?.Switches() ?? []));
        }
        IReadOnlyList<TimelineSwitch> switches = [];
        if (!tunnel.IsServer)
        {
            // The page's own read feeds the timeline too, so a switch shows up at the next refresh, not the sampler's.
            TimelineRecorder recorder = _sampler.RecorderFor(name);
            recorder.Record(reading.ToTimelineInput());
            switches = recorder.Switches();
        }
        return Results.Json(TunnelStatusView.From(tunnel, reading, addresses, switches, _time.GetUtcNow().ToUnixTimeSeconds()));
    }

    private IResult Timeline(string name, string? since)
    {
        if (Find(name) is not { } tunnel)
        {
            return UnknownTunnel(name);
        }
        long sinceMs = 0;
        if (!string.IsNullOrEmpty(since) && !long.TryParse(since, NumberStyles.Integer, CultureInfo.InvariantCulture, out sinceMs))
        {
            return Results.Json(new { error = $"since must be a Unix time in milliseconds, not `{since}`" }, statusCode: StatusCodes.Status400BadRequest);
        }
        if (tunnel.IsServer)
        {
            // Servers are not sampled (docs/ui.md "Timeline"): an empty series of the same shape.
            return Results.Json(new TimelineSeries(_time.GetUtcNow().ToUnixTimeMilliseconds(), 300_000, 1000, [], [], [], [], [], []));
        }
        return Results.Json(_sampler.RecorderFor(name).Read(sinceMs));
    }

    private TunnelEntry? Find(string name)
    {
        foreach (TunnelEntry t in _directory.List())
        {
            if (string.Equals(t.Name, name, StringComparison.Ordinal))
            {
                return t;
            }
        }
        return null;
    }

    private static IResult UnknownTunnel(string name) =>
        Results.Json(new { error = $"no tunnel named `{name}`: pick one on the Tunnels page" }, statusCode: StatusCodes.Status404NotFound);

    public ValueTask DisposeAsync() => _sampler.DisposeAsync();
}
