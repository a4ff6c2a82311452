using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Benchmarks;

/// <summary>
/// The three ChaCha20-Poly1305 candidates for the transport path (docs/performance.md "AEAD"), each
/// sealing in place, opening a valid packet and opening a forged one (last tag byte flipped: what an
/// attacker can send at line rate). All must be 0 B; the BCL's forged open throws by design, which is
/// what this measures. Run: dotnet run -c Release --project tests/JumpingVpn.Benchmarks -- --filter '*Aead*' --inProcess
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[MinColumn]
public class AeadBenchmarks
{
    private const int Tag = 16;
    private readonly byte[] _key = new byte[32];
    private readonly byte[] _otherKey = new byte[32];
    private readonly byte[] _nonce = new byte[12];
    private byte[] _buffer = null!;
    private byte[] _sealed = null!;
    private byte[] _forged = null!;
    private byte[] _plain = null!;
    private ChaCha20Poly1305 _bcl = null!;

    [Params(64, 1300, 1420)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        RandomNumberGenerator.Fill(_key);
        RandomNumberGenerator.Fill(_otherKey);
        SodiumAead.EnsureInitialized();
        OpenSslAead.Initialize();
        _bcl = new ChaCha20Poly1305(_key);
        _buffer = new byte[Size + Tag];
        _plain = new byte[Size + Tag];
        _sealed = new byte[Size + Tag];
        RandomNumberGenerator.Fill(_plain.AsSpan(0, Size));
        SodiumAead.Encrypt(_key, _nonce, _plain.AsSpan(0, Size), _sealed);
        _forged = _sealed.ToArray();
        _forged[^1] ^= 1;
        // All three must agree before anything is timed.
        byte[] viaOpenSsl = new byte[Size + Tag];
        OpenSslAead.Encrypt(_key, _nonce, default, _plain.AsSpan(0, Size), viaOpenSsl);
        byte[] viaBcl = new byte[Size + Tag];
        _bcl.Encrypt(_nonce, _plain.AsSpan(0, Size), viaBcl.AsSpan(0, Size), viaBcl.AsSpan(Size));
        if (!viaOpenSsl.AsSpan().SequenceEqual(_sealed) || !viaBcl.AsSpan().SequenceEqual(_sealed))
        {
            throw new InvalidOperationException("the AEAD implementations disagree");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _bcl.Dispose();

    [Benchmark(Baseline = true, Description = "seal in place, libsodium")]
    public void SealSodium() => SodiumAead.Encrypt(_key, _nonce, _buffer.AsSpan(0, Size), _buffer);

    [Benchmark(Description = "seal in place, OpenSSL EVP")]
    public bool SealOpenSsl() => OpenSslAead.Encrypt(_key, _nonce, default, _buffer.AsSpan(0, Size), _buffer);

    [Benchmark(Description = "seal in place, BCL ChaCha20Poly1305")]
    public void SealBcl() => _bcl.Encrypt(_nonce, _buffer.AsSpan(0, Size), _buffer.AsSpan(0, Size), _buffer.AsSpan(Size, Tag));

    [Benchmark(Description = "open, libsodium")]
    public bool OpenSodium() => SodiumAead.Decrypt(_key, _nonce, _sealed, _plain);

    [Benchmark(Description = "open, OpenSSL EVP")]
    public bool OpenOpenSsl() => OpenSslAead.Decrypt(_key, _nonce, default, _sealed, _plain);

    [Benchmark(Description = "open, BCL ChaCha20Poly1305")]
    public void OpenBcl() => _bcl.Decrypt(_nonce, _sealed.AsSpan(0, Size), _sealed.AsSpan(Size, Tag), _plain.AsSpan(0, Size));

    [Benchmark(Description = "open forged, libsodium")]
    public bool ForgedSodium() => SodiumAead.Decrypt(_key, _nonce, _forged, _plain);

    [Benchmark(Description = "open forged, OpenSSL EVP")]
    public bool ForgedOpenSsl() => OpenSslAead.Decrypt(_key, _nonce, default, _forged, _plain);

    [Benchmark(Description = "open forged, BCL ChaCha20Poly1305 (throws)")]
    public bool ForgedBcl()
    {
        try
        {
            _bcl.Decrypt(_nonce, _forged.AsSpan(0, Size), _forged.AsSpan(Size, Tag), _plain.AsSpan(0, Size));
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    /// <summary>Two keys alternating on one thread: every call re-keys the thread's context (a server with many peers).</summary>
    [Benchmark(OperationsPerInvoke = 2, Description = "seal, OpenSSL EVP, key changes every packet")]
    public bool SealOpenSslAlternatingKeys()
    {
        OpenSslAead.Encrypt(_key, _nonce, default, _buffer.AsSpan(0, Size), _buffer);
        return OpenSslAead.Encrypt(_otherKey, _nonce, default, _buffer.AsSpan(0, Size), _buffer);
    }
}
