using System.CommandLine;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Cli.Commands;

/// <summary>genkey / pubkey / genpsk: the same text in and out as wg(8), so scripts can swap the two.</summary>
internal static class KeyCommands
{
    public static Command GenKey()
    {
        var cmd = new Command("genkey", "Print a new random private key (base64, clamped like 'wg genkey').");
        cmd.SetAction(_ =>
        {
            byte[] key = new byte[32];
            X25519.GeneratePrivateKey(key);
            Console.Out.Write(WireGuardKey.ToBase64(key) + "\n");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    public static Command GenPsk()
    {
        var cmd = new Command("genpsk", "Print a new random preshared key (base64, like 'wg genpsk').");
        cmd.SetAction(_ =>
        {
            byte[] key = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
            Console.Out.Write(WireGuardKey.ToBase64(key) + "\n");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    public static Command PubKey()
    {
        var cmd = new Command("pubkey", "Read a private key on stdin and print its public key (like 'wg pubkey').");
        cmd.SetAction(_ =>
        {
            string input = Console.In.ReadToEnd();
            if (!WireGuardKey.TryParseBase64(input, out byte[]? priv))
            {
                Console.Error.WriteLine("jvpn pubkey: stdin is not a private key: expected one 44-character base64 key as printed by 'jvpn genkey' or 'wg genkey'");
                return ExitCodes.BadConfig;
            }
            byte[] pub = new byte[32];
            X25519.DerivePublicKey(priv, pub);
            Console.Out.Write(WireGuardKey.ToBase64(pub) + "\n");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
