using System.Text.Json;
using JumpingVpn.Control.Hosting;

namespace JumpingVpn.Ui.Manager;

/// <summary>What the manager remembers across restarts (docs/ui.md "The manager").</summary>
public sealed record ManagerState(IReadOnlyList<string> Active, IReadOnlyList<string> StartAtBoot)
{
    public static ManagerState Empty { get; } = new([], []);
}

/// <summary>
/// <c>manager-state.json</c> in the state directory, written atomically (temporary file, then rename) so a crash
/// or power loss leaves the old or the new state, never a torn one.
/// </summary>
public sealed class ManagerStateFile(string directory)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetFullPath(directory), "manager-state.json");

    /// <summary>The saved state; empty when there is none. A damaged file is an <see cref="IOException"/> naming it.</summary>
    public ManagerState Load()
    {
        if (!File.Exists(Path))
        {
            return ManagerState.Empty;
        }
        try
        {
            ManagerState? state = JsonSerializer.Deserialize<ManagerState>(File.ReadAllText(Path), Json);
            return state is null ? ManagerState.Empty : new ManagerState(state.Active ?? [], state.StartAtBoot ?? []);
        }
        catch (JsonException e)
        {
            throw new IOException($"{Path} is damaged ({e.Message}); move it away and start the manager again (tunnels will start inactive)", e);
        }
    }

    public void Save(ManagerState state)
    {
        string dir = System.IO.Path.GetDirectoryName(Path)!;
        Directory.CreateDirectory(dir);
        string temp = Path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (HostComposition.Current.PosixFileModes)
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        }
        try
        {
            using (var stream = new FileStream(temp, options))
            {
                JsonSerializer.Serialize(stream, state, Json);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, Path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }
}
