namespace JumpingVpn.Fuzz.Targets;

/// <summary>
/// Deterministic randomness (xorshift64*) for the protocol core under test: a rig built twice from the
/// same seed picks the same indices and ephemeral keys, which is what lets a stored seed answer the
/// rig's own handshake initiation (docs/fuzzing.md).
/// </summary>
internal sealed class SeededRandom(ulong seed)
{
    private ulong _state = seed | 1;

    public void Fill(Span<byte> buffer)
    {
        for (int i = 0; i < buffer.Length; i++)
        {
            _state ^= _state >> 12;
            _state ^= _state << 25;
            _state ^= _state >> 27;
            buffer[i] = (byte)((_state * 0x2545F4914F6CDD1DUL) >> 56);
        }
    }
}
