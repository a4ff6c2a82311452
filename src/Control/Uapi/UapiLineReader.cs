using System.Text;

namespace JumpingVpn.Control.Uapi;

/// <summary>
/// Reads '\n'-terminated lines from a stream, with a cap on line length so a misbehaving client cannot
/// make the server buffer without bound. Bytes after a line stay buffered for the next request on the
/// same connection (wg(8) sends one request per connection, but the protocol allows several).
/// </summary>
internal sealed class UapiLineReader(Stream stream, int maxLineLength = UapiLineReader.DefaultMaxLineLength)
{
    /// <summary>Longest legal line is ~100 bytes (a hex key or an IPv6 endpoint with a zone); 4 KiB leaves
    /// room for extension requests.</summary>
    public const int DefaultMaxLineLength = 4096;

    private readonly byte[] _buffer = new byte[Math.Max(maxLineLength + 1, 512)];
    private int _start;
    private int _end;

    /// <summary>The next line without its '\n', or null at the end of the stream. A final line without
    /// '\n' is returned as a line. Throws <see cref="InvalidDataException"/> for a line over the cap.</summary>
    public async ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            int newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                string line = Encoding.UTF8.GetString(_buffer, _start, newline - _start);
                _start = newline + 1;
                return line;
            }
            if (_end - _start > maxLineLength)
            {
                throw new InvalidDataException($"UAPI line longer than {maxLineLength} bytes");
            }
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            int read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                if (_end == _start)
                {
                    return null;
                }
                string last = Encoding.UTF8.GetString(_buffer, _start, _end - _start);
                _start = _end = 0;
                return last;
            }
            _end += read;
        }
    }

    /// <summary>Lines up to (not including) the next empty line; <paramref name="endOfStream"/> is true
    /// when the stream ended before the empty line.</summary>
    public async ValueTask<(List<string> Lines, bool EndOfStream)> ReadUntilBlankLineAsync(CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        while (true)
        {
            string? line = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (line is null)
            {
                return (lines, true);
            }
            if (line.Length == 0)
            {
                return (lines, false);
            }
            lines.Add(line);
        }
    }
}
