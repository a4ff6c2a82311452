using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// The TLS server check of a store connection (docs/cluster.md "Store access"): the configured CA (or the
/// system's), and the name in the certificate. With <paramref name="names"/> the name is checked here against
/// any of them (an etcd URL lists several members, each may present its own name); without, the TLS layer's
/// own check of the one host name stands. The first refusal is kept in <see cref="Problem"/> for the
/// operator, since the client library reports it only as a failed connection.
/// </summary>
internal sealed class StoreTlsCheck(string? caFile, IReadOnlyList<string>? names = null)
{
    public string? Problem { get; private set; }

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (names is not null)
        {
            errors &= ~SslPolicyErrors.RemoteCertificateNameMismatch;
        }
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            Problem = "the server's TLS certificate does not carry the expected name (the URL's host, or StoreServerName)";
            return false;
        }
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            Problem = "the server sent no TLS certificate";
            return false;
        }
        using var leaf = new X509Certificate2(certificate);
        if (names is not null && !MatchesAny(leaf, names))
        {
            Problem = "the server's TLS certificate does not carry the expected name (a host of the URL, or StoreServerName)";
            return false;
        }
        if (caFile is null)
        {
            if ((errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) != SslPolicyErrors.None)
            {
                Problem = "the server's TLS certificate is not trusted by the system CA store (name the CA with StoreCaFile)";
                return false;
            }
            return true;
        }
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        custom.ChainPolicy.CustomTrustStore.ImportFromPemFile(caFile);
        if (!custom.Build(leaf))
        {
            Problem = $"the server's TLS certificate is not signed by the CA in {caFile}";
            return false;
        }
        return true;
    }

    private static bool MatchesAny(X509Certificate2 certificate, IReadOnlyList<string> names)
    {
        foreach (string name in names)
        {
            if (certificate.MatchesHostname(name))
            {
                return true;
            }
        }
        return false;
    }
}
