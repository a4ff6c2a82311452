namespace JumpingVpn.Control.Audit;

/// <summary>
/// A destination for audit lines. Called only from the pipeline's single consumer thread, so an
/// implementation needs no locking of its own. It may block or throw: the pipeline counts exceptions and
/// a slow sink only fills the buffer (which then drops and records <c>AUDIT_GAP</c>), never slows producers.
/// </summary>
public interface IAuditSink : IDisposable
{
    /// <summary>Writes one JSON object (UTF-8, without the line terminator).</summary>
    void Write(ReadOnlySpan<byte> utf8JsonLine);

    /// <summary>End of a batch: make what was written durable enough to be read by others.</summary>
    void Flush();

    /// <summary>Errors the sink handled itself (e.g. I/O failures it reported instead of throwing).</summary>
    long ErrorCount => 0;
}
