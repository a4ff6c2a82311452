namespace JumpingVpn.Tests.Infrastructure;

internal sealed partial class ManagedProcess
{
    /// <summary>SIGKILL by PID (`kill -9`): the process gets no chance to clean up (a crashed node).</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, 9);
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>SIGSTOP by PID: the process is frozen (a stalled node: a long GC pause, a VM paused by its host).</summary>
    public void Freeze() => _ = Kill(_process.Id, 19);

    /// <summary>SIGCONT by PID: a frozen process runs on.</summary>
    public void Thaw() => _ = Kill(_process.Id, 18);
}
