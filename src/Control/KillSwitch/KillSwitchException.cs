namespace JumpingVpn.Control.KillSwitch;

/// <summary>A kill switch request that cannot be done as asked (split tunnel, tunnel not running); the message
/// names the problem and the fix, for the CLI and the UI to show as it is.</summary>
public sealed class KillSwitchException : InvalidOperationException
{
    public KillSwitchException()
    {
    }

    public KillSwitchException(string message)
        : base(message)
    {
    }

    public KillSwitchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
