using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// A throwaway CA with a server and a client certificate it signed, as PEM files in a test's directory (for
/// redis-server --tls-* and StoreCertFile/StoreKeyFile), made with CertificateRequest: no openssl binary,
/// nothing outside the directory.
/// </summary>
internal sealed record TestCertificates(string CaFile, string ServerCertFile, string ServerKeyFile, string ClientCertFile, string ClientKeyFile)
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
        using X509Certificate2 server = request.Create(ca, now.AddMinutes(-5), now.AddDays(1), Serial());

        using ECDsa clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var clientRequest = new CertificateRequest("CN=jvpn node", clientKey, HashAlgorithmName.SHA256);
        clientRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        clientRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        clientRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using X509Certificate2 client = clientRequest.Create(ca, now.AddMinutes(-5), now.AddDays(1), Serial());

        var files = new TestCertificates(Path.Combine(dir, prefix + "ca.pem"), Path.Combine(dir, prefix + "server.pem"), Path.Combine(dir, prefix + "server.key"),
            Path.Combine(dir, prefix + "client.pem"), Path.Combine(dir, prefix + "client.key"));
        File.WriteAllText(files.CaFile, ca.ExportCertificatePem());
        File.WriteAllText(files.ServerCertFile, server.ExportCertificatePem());
        File.WriteAllText(files.ServerKeyFile, serverKey.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(files.ClientCertFile, client.ExportCertificatePem());
        File.WriteAllText(files.ClientKeyFile, clientKey.ExportPkcs8PrivateKeyPem());
        return files;
    }

    private static byte[] Serial()
    {
        byte[] serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7F;
        return serial;
    }
}
