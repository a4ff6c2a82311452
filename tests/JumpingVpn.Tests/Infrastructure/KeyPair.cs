namespace JumpingVpn.Tests.Infrastructure;

/// <summary>A Curve25519 key pair in wg's base64 form, made by the stock `wg` tool so the harness
/// does not depend on jvpn's own key code.</summary>
internal sealed record KeyPair(string PrivateKey, string PublicKey)
{
    public static KeyPair Generate()
    {
        string privateKey = Command.Run("wg", ["genkey"]).StandardOutput.Trim();
        string publicKey = Command.Run("wg", ["pubkey"], standardInput: privateKey + "\n").StandardOutput.Trim();
        return new KeyPair(privateKey, publicKey);
    }

    public static string GeneratePresharedKey() => Command.Run("wg", ["genpsk"]).StandardOutput.Trim();
}
