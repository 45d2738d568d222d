using System.Collections.Concurrent;
using System.IO.Hashing;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// The write stream of one parameter image: writes gather into 4 MiB blocks that a background task writes to the
/// file and hashes (XXH128), so the conversion on the calling thread overlaps the write system calls and the
/// checksum, and hdx.json gets the image's checksum without reading the image back. The file is unbuffered (the
/// blocks are the buffer) and not preallocated (on ext4 here, preallocating added kernel time in an A/B).
/// <see cref="Complete"/> must be called for the file to be whole; disposing without it stops the writer.
/// </summary>
internal sealed class ImageStream : Stream
{
    private const int BlockBytes = 4 << 20;

    private readonly FileStream _file;
    private readonly XxHash128 _hash = new();
    // Two full blocks may wait while the caller fills a third: bounded memory, and the caller blocks when the disk lags.
    private readonly BlockingCollection<(byte[] Block, int Length)> _full = new(boundedCapacity: 2);
    private readonly ConcurrentQueue<byte[]> _free = new();
    private readonly Task _writer;
    private byte[] _block = new byte[BlockBytes];
    private int _used;
    private long _position;
    private volatile Exception? _error;
    private FileChecksum? _checksum;

    public ImageStream(string path)
    {
        _file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 0,
        });
        _writer = Task.Factory.StartNew(WriteBlocks, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Size and XXH128 of what was written; after <see cref="Complete"/>.</summary>
    public FileChecksum Checksum => _checksum ?? throw new InvalidOperationException("the image is not complete");

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => _position;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            int n = Math.Min(buffer.Length, BlockBytes - _used);
            buffer[..n].CopyTo(_block.AsSpan(_used));
            _used += n;
            _position += n;
            buffer = buffer[n..];
            if (_used == BlockBytes)
            {
                Hand();
            }
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <summary>Writes what is left, waits for the writer and closes the file.</summary>
    public void Complete()
    {
        if (_used > 0)
        {
            Hand();
        }

        _full.CompleteAdding();
        _writer.Wait();
        ThrowIfFailed();
        _file.Flush();
        _checksum = new FileChecksum { Size = _position, Xxh128 = ArtifactChecksums.Hex(_hash) };
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (!_full.IsAddingCompleted)
            {
                _full.CompleteAdding();
            }

            _writer.Wait();
            _full.Dispose();
            _file.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Hand()
    {
        ThrowIfFailed();
        _full.Add((_block, _used));
        _block = _free.TryDequeue(out var free) ? free : new byte[BlockBytes];
        _used = 0;
    }

    private void ThrowIfFailed()
    {
        if (_error is { } error)
        {
            throw new IOException(error.Message, error);
        }
    }

    private void WriteBlocks()
    {
        foreach (var (block, length) in _full.GetConsumingEnumerable())
        {
            if (_error is null)
            {
                try
                {
                    _file.Write(block, 0, length);
                    _hash.Append(block.AsSpan(0, length));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    _error = e; // reported on the caller's next write; the rest is drained so the caller never blocks
                }
            }

            _free.Enqueue(block);
        }
    }
}
