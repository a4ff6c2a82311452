using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// A throwaway CA and a server certificate it signed, as PEM files in a test's directory (for redis-server
/// --tls-*), made with CertificateRequest: no openssl binary, nothing outside the directory.
/// </summary>
internal sealed record TestCertificates(string CaFile, string ServerCertFile, string ServerKeyFile)
{
    /// <summary>A CA plus a server certificate whose subject alternative names are <paramref name="names"/>.</summary>
    public static TestCertificates Create(string dir, IReadOnlyList<string> names, string prefix = "")
    {
        using ECDsa caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=jvpn test CA " + NetNs.RandomHex(4), caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        using ECDsa serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + names[0], serverKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (string name in names)
        {
            if (IPAddress.TryParse(name, out IPAddress? ip))
            {
                san.AddIpAddress(ip);
            }
            else
            {
                san.AddDnsName(name);
            }
        }
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        byte[] serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7F;
        using X509Certificate2 server = request.Create(ca, now.AddMinutes(-5), now.AddDays(1), serial);

        var files = new TestCertificates(Path.Combine(dir, prefix + "ca.pem"), Path.Combine(dir, prefix + "server.pem"), Path.Combine(dir, prefix + "server.key"));
        File.WriteAllText(files.CaFile, ca.ExportCertificatePem());
        File.WriteAllText(files.ServerCertFile, server.ExportCertificatePem());
        File.WriteAllText(files.ServerKeyFile, serverKey.ExportPkcs8PrivateKeyPem());
        return files;
    }
}
