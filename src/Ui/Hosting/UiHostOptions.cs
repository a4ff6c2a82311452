namespace JumpingVpn.Ui.Hosting;

/// <summary>Where the UI listens and how long its credentials live (docs/ui.md "Security").</summary>
public sealed class UiHostOptions
{
    /// <summary>TCP port on 127.0.0.1; 0 picks a free one (tests).</summary>
    public int Port { get; init; }

    /// <summary>How long a sign-in link from <c>jvpn ui</c> may wait before it is opened.</summary>
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the cookie a sign-in link turns into stays valid.</summary>
    public TimeSpan SessionLifetime { get; init; } = TimeSpan.FromHours(12);

    /// <summary>Clock for token and cookie expiry; tests pass a manual one.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
