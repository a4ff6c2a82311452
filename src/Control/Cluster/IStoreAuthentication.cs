namespace JumpingVpn.Control.Cluster;

/// <summary>
/// A shared store that can refuse a node (docs/cluster.md "Store access"): a refusal at connect time is
/// reported here so `jvpn up` and `jvpn cluster status` stop with the store's reason instead of retrying
/// forever, while a store that merely does not answer is retried.
/// </summary>
public interface IStoreAuthentication
{
    /// <summary>Why the store refused this node (wrong or missing credentials, an untrusted certificate), or null.</summary>
    string? AuthenticationProblem { get; }
}
