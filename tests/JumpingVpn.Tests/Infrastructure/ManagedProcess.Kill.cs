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
}
