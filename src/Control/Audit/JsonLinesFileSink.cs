using System.Globalization;

namespace JumpingVpn.Control.Audit;

/// <summary>
/// Appends audit lines to a JSON Lines file (UTF-8, one object per line, <c>\n</c>) with size-based
/// rotation: when the next line would take the active file past <c>maxBytes</c>, <c>audit.jsonl</c> becomes
/// <c>audit.jsonl.1</c>, <c>.1</c> becomes <c>.2</c>, and so on, keeping <c>maxFiles</c> files in total
/// (the active one included; the oldest is deleted).
/// </summary>
/// <remarks>
/// I/O failures (disk full, directory removed, permissions) never reach the pipeline: they are counted in
/// <see cref="ErrorCount"/> with <see cref="LastError"/>, the file is closed, and lines are dropped (counted
/// in <see cref="DroppedLines"/>) until a reopen attempt, at most once per <c>retryInterval</c>, succeeds.
/// Used from the pipeline's consumer thread only; not thread-safe.
/// On Unix the file is created 0640 and an existing one narrowed to at most 0640 on open
/// (docs/sessions.md "Operating it").
/// </remarks>
public sealed class JsonLinesFileSink : IAuditSink
{
    private const int StreamBufferSize = 64 * 1024;

    /// <summary>Audit lines name peers and addresses: owner read/write, group read, nothing for others.</summary>
    internal const UnixFileMode FileMode0640 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;

    private const UnixFileMode DirectoryMode0750 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;

    private readonly long _maxBytes;
    private readonly int _maxFiles;
    private readonly TimeProvider _time;
    private readonly TimeSpan _retryInterval;
    private FileStream? _stream;
    private long _size;
    private long _errors;
    private long _droppedLines;
    private long _nextOpenTicks;
    private Exception? _lastError;
    private bool _disposed;

    public JsonLinesFileSink(string path, long maxBytes = 16 * 1024 * 1024, int maxFiles = 5, TimeProvider? timeProvider = null, TimeSpan? retryInterval = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFiles, 1);
        Path = System.IO.Path.GetFullPath(path);
        _maxBytes = maxBytes;
        _maxFiles = maxFiles;
        _time = timeProvider ?? TimeProvider.System;
        _retryInterval = retryInterval ?? TimeSpan.FromSeconds(1);
    }

    public string Path { get; }

    public long ErrorCount => Interlocked.Read(ref _errors);

    public Exception? LastError => Volatile.Read(ref _lastError);

    /// <summary>Lines lost because the file could not be written.</summary>
    public long DroppedLines => Interlocked.Read(ref _droppedLines);

    /// <summary>Name of the n-th rotated file (n >= 1): <c>PATH.n</c>.</summary>
    public string RotatedPath(int n) => Path + "." + n.ToString(CultureInfo.InvariantCulture);

    public void Write(ReadOnlySpan<byte> utf8JsonLine)
    {
        if (_disposed)
        {
            return;
        }
        try
        {
            long lineBytes = utf8JsonLine.Length + 1L;
            if (_stream is not null && _size > 0 && _size + lineBytes > _maxBytes)
            {
                Rotate();
            }
            if (_stream is null && !TryOpen())
            {
                Interlocked.Increment(ref _droppedLines);
                return;
            }
            _stream!.Write(utf8JsonLine);
            _stream.WriteByte((byte)'\n');
            _size += lineBytes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Interlocked.Increment(ref _droppedLines);
            Fail(e);
        }
    }

    public void Flush()
    {
        if (_stream is null)
        {
            return;
        }
        try
        {
            _stream.Flush(flushToDisk: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(e);
        }
    }

    private bool TryOpen()
    {
        long now = _time.GetTimestamp();
        if (now < _nextOpenTicks)
        {
            return false;
        }
        try
        {
            string? directory = System.IO.Path.GetDirectoryName(Path);
            if (OperatingSystem.IsWindows())
            {
                if (!string.IsNullOrEmpty(directory))
                {
                    Directory.CreateDirectory(directory);
                }
                _stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, StreamBufferSize);
            }
            else
            {
                if (!string.IsNullOrEmpty(directory))
                {
                    Directory.CreateDirectory(directory, DirectoryMode0750);
                }
                _stream = new FileStream(Path, new FileStreamOptions
                {
                    Mode = FileMode.Append,
                    Access = FileAccess.Write,
                    Share = FileShare.ReadWrite | FileShare.Delete,
                    BufferSize = StreamBufferSize,
                    UnixCreateMode = FileMode0640,
                });
                // UnixCreateMode applies to a new file only (and the umask may narrow it further); a file
                // that already existed keeps its mode, so narrow that one here. Bits are only removed.
                UnixFileMode mode = File.GetUnixFileMode(_stream.SafeFileHandle);
                if ((mode & ~FileMode0640) != 0)
                {
                    File.SetUnixFileMode(_stream.SafeFileHandle, mode & FileMode0640);
                }
            }
            _size = _stream.Length;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(e);
            return false;
        }
    }

    /// <summary>Closes the active file and shifts PATH -> PATH.1 -> ... -> PATH.(maxFiles-1), dropping the oldest.</summary>
    private void Rotate()
    {
        _stream!.Dispose(); // flushes what is buffered into the file being rotated
        _stream = null;
        _size = 0;
        if (_maxFiles == 1)
        {
            File.Delete(Path);
            return;
        }
        File.Delete(RotatedPath(_maxFiles - 1));
        for (int n = _maxFiles - 2; n >= 1; n--)
        {
            string from = RotatedPath(n);
            if (File.Exists(from))
            {
                File.Move(from, RotatedPath(n + 1), overwrite: true);
            }
        }
        File.Move(Path, RotatedPath(1), overwrite: true);
    }

    private void Fail(Exception e)
    {
        Interlocked.Increment(ref _errors);
        Volatile.Write(ref _lastError, e);
        _nextOpenTicks = _time.GetTimestamp() + (long)(_retryInterval.TotalSeconds * _time.TimestampFrequency);
        try
        {
            _stream?.Dispose();
        }
        catch (Exception)
        {
            // Disposing flushes; a second failure adds nothing to what was just reported.
        }
        _stream = null;
        _size = 0;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        Flush();
        try
        {
            _stream?.Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail(e);
        }
        _stream = null;
    }
}
