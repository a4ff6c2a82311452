namespace JumpingVpn.Platform;

/// <summary>What a <see cref="PlatformException"/> means to the caller; the CLI maps each kind to one exit code.</summary>
public enum PlatformErrorKind
{
    /// <summary>The OS refused or failed the operation.</summary>
    Failure,

    /// <summary>The interface, its control socket or its UDP port is held by another running instance.</summary>
    AlreadyInUse,
}
