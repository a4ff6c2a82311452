namespace JumpingVpn.Control.Sessions;

internal sealed partial class SwitchRing
{
    /// <summary>Copies another ring of the same capacity (the rollback copy of <see cref="SessionSlot"/>).</summary>
    public void CopyFrom(SwitchRing other)
    {
        Array.Copy(other._times, _times, Math.Min(_times.Length, other._times.Length));
        _next = other._next % _times.Length;
        _count = Math.Min(other._count, _times.Length);
    }
}
