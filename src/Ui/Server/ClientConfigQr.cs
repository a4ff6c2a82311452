using System.Text;
using QRCoder;

namespace JumpingVpn.Ui.Server;

/// <summary>
/// The QR code of a client config for the WireGuard mobile apps, as SVG (QRCoder) in a <c>data:</c> URL the page
/// shows in an <c>img</c> (the UI's CSP allows <c>img-src data:</c>, docs/ui.md "Security"). Comment lines are left
/// out of the code as <c>jvpn server add-peer</c> leaves them out of its terminal code: the apps ignore them and
/// they only make the code denser.
/// </summary>
internal static class ClientConfigQr
{
    /// <summary>What the code holds: the config without its comment lines.</summary>
    public static string Payload(string config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var sb = new StringBuilder(config.Length);
        foreach (string line in config.Split('\n'))
        {
            if (!line.StartsWith('#'))
            {
                sb.Append(line).Append('\n');
            }
        }
        return sb.ToString().TrimStart('\n');
    }

    /// <summary>The SVG document of the code (error correction M: readable off a screen, small enough for a config).</summary>
    public static string Svg(string config)
    {
        using var generator = new QRCodeGenerator();
        using QRCodeData data = generator.CreateQrCode(Encoding.UTF8.GetBytes(Payload(config)), QRCodeGenerator.ECCLevel.M);
        using var svg = new SvgQRCode(data);
        return svg.GetGraphic(4);
    }

    public static string DataUrl(string config) =>
        "data:image/svg+xml;base64," + Convert.ToBase64String(Encoding.UTF8.GetBytes(Svg(config)));
}
