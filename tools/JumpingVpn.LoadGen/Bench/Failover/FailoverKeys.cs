using System.Text;
using JumpingVpn.Control.Config;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.LoadGen.Bench.Failover;

/// <summary>
/// The keys of a failover run, made before the nodes start (they need the peers file) and read back by
/// the generator: in the work directory `server.key` (the cluster's private key, for the nodes' configs),
/// `server.pub`, `clients.key` (one private key per line, client i on line i) and `clients.peers` (the
/// peers file every node loads; client i's inner address is <see cref="BenchServer.ClientInner"/>).
/// </summary>
internal static class FailoverKeys
{
    public static void Write(string directory, int sessions)
    {
        Directory.CreateDirectory(directory);
        byte[] server = new byte[32];
        X25519.GeneratePrivateKey(server);
        byte[] serverPublic = new byte[32];
        X25519.DerivePublicKey(server, serverPublic);
        var privates = new byte[sessions][];
        var publics = new byte[sessions][];
        Parallel.For(0, sessions, i =>
        {
            privates[i] = new byte[32];
            X25519.GeneratePrivateKey(privates[i]);
            publics[i] = new byte[32];
            X25519.DerivePublicKey(privates[i], publics[i]);
        });
        WriteSecret(Path.Combine(directory, "server.key"), WireGuardKey.ToBase64(server) + "\n");
        File.WriteAllText(Path.Combine(directory, "server.pub"), WireGuardKey.ToBase64(serverPublic) + "\n");
        var keys = new StringBuilder(sessions * 45);
        foreach (byte[] p in privates)
        {
            keys.Append(WireGuardKey.ToBase64(p)).Append('\n');
        }
        WriteSecret(Path.Combine(directory, "clients.key"), keys.ToString());
        using var w = new StreamWriter(Path.Combine(directory, "clients.peers"), false, new UTF8Encoding(false), 1 << 20);
        PeersFile.Write(w, Enumerable.Range(0, sessions).Select(i => (publics[i], BenchServer.FormatInner(BenchServer.ClientInner(i)) + "/32")));
    }

    /// <summary>The simulated clients of a run whose keys <see cref="Write"/> made.</summary>
    public static SimClient[] Read(string directory, int sessions)
    {
        byte[] serverPublic = Key(File.ReadAllText(Path.Combine(directory, "server.pub")).Trim(), "server.pub");
        string[] lines = File.ReadAllLines(Path.Combine(directory, "clients.key"));
        if (lines.Length < sessions)
        {
            throw new IOException($"{Path.Combine(directory, "clients.key")} holds {lines.Length} keys, not {sessions}: run with --prepare first");
        }
        var clients = new SimClient[sessions];
        for (int i = 0; i < sessions; i++)
        {
            clients[i] = new SimClient(i, Key(lines[i], "clients.key"), serverPublic, BenchServer.ClientInner(i));
        }
        return clients;
    }

    private static byte[] Key(string text, string file) =>
        WireGuardKey.TryParseBase64(text, out byte[]? key) ? key : throw new IOException($"{file}: not a base64 WireGuard key");

    private static void WriteSecret(string path, string text)
    {
        File.WriteAllText(path, text);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
