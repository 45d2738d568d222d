using System.Collections.Concurrent;
using System.IO.Hashing;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// The write stream of one parameter image: writes gather into 4 MiB blocks that a background task writes to the
/// file and hashes (XXH128), so the conversion on the calling thread overlaps the write system calls and the
/// checksum, and hdx.json gets the image's checksum without reading the image back. The file is not preallocated (on
/// ext4 here, preallocating added kernel time in an A/B). Where the file system takes it the blocks go to the disk
/// without the page cache (<see cref="DirectWrite"/>); elsewhere they are ordinary unbuffered writes.
/// <see cref="Complete"/> must be called for the file to be whole; disposing without it stops the writer.
/// </summary>
internal sealed class ImageStream : Stream
{
    private const int BlockBytes = 4 << 20;

    private readonly FileStream _file;
    private readonly XxHash128 _hash = new();
    // Two full blocks may wait while the caller fills a third: bounded memory, and the caller blocks when the disk lags.
    private readonly BlockingCollection<(AlignedBlock Block, int Length)> _full = new(boundedCapacity: 2);
    private readonly ConcurrentQueue<AlignedBlock> _free = new();
    private readonly Task _writer;
    private bool _direct;
    private AlignedBlock _block = new(BlockBytes);
    private int _used;
    private long _position;
    private long _written;
    private volatile Exception? _error;
    private FileChecksum? _checksum;

    /// <param name="path">The image file, created here (it must not exist).</param>
    /// <param name="tryDirect">False keeps the page cache (tests compare both ways).</param>
    public ImageStream(string path, bool tryDirect = true)
    {
        _file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 0,
        });
        _direct = tryDirect && DirectWrite.TryEnable(_file.SafeFileHandle);
        _writer = Task.Factory.StartNew(WriteBlocks, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Whether the blocks currently bypass the page cache.</summary>
    internal bool WritesDirect => _direct;

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
            buffer[..n].CopyTo(_block.Span[_used..]);
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
        if (_written != _position)
        {
            _file.SetLength(_position); // a direct write rounds the last block up to whole sectors
        }

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
        _block = _free.TryDequeue(out var free) ? free : new AlignedBlock(BlockBytes);
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
                    _hash.Append(block.Span[..length]);
                    WriteBlock(block, length);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    _error = e; // reported on the caller's next write; the rest is drained so the caller never blocks
                }
            }

            _free.Enqueue(block);
        }
    }

    private void WriteBlock(AlignedBlock block, int length)
    {
        if (_direct)
        {
            // Direct writes take whole sectors: only the last block can be short, and its zero tail is cut off again
            // by Complete. A file system that takes O_DIRECT at open but refuses these writes gets ordinary ones.
            int rounded = (length + DirectWrite.Alignment - 1) & -DirectWrite.Alignment;
            block.Span[length..rounded].Clear();
            try
            {
                RandomAccess.Write(_file.SafeFileHandle, block.Span[..rounded], _written);
                _written += rounded;
                return;
            }
            catch (IOException) when (DirectWrite.TryDisable(_file.SafeFileHandle))
            {
                _direct = false;
            }
        }

        RandomAccess.Write(_file.SafeFileHandle, block.Span[..length], _written);
        _written += length;
    }
}
