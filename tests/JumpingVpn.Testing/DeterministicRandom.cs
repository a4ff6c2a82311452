namespace JumpingVpn.Testing;

/// <summary>Seeded randomness so protocol tests replay identically.</summary>
public sealed class DeterministicRandom(int seed)
{
    private readonly Random _random = new(seed);

    public void Fill(Span<byte> buffer)
    {
        lock (_random)
        {
            _random.NextBytes(buffer);
        }
    }
}
