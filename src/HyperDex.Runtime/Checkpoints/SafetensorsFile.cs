using System.IO.MemoryMappedFiles;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Checkpoints;

/// <summary>
/// A memory-mapped, validated safetensors file. Tensor data is read straight from the mapping, row by row, so a
/// multi-GB file is never loaded into one array.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _data;
    private readonly Dictionary<string, SafetensorsTensor> _tensors;
    private bool _disposed;

    private SafetensorsFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* data,
        IReadOnlyList<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        _map = map;
        _view = view;
        _data = data;
        _tensors = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        Metadata = metadata;
    }

    public string Path { get; }

    public IReadOnlyDictionary<string, SafetensorsTensor> Tensors => _tensors;

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static SafetensorsFile Open(string path)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (FileNotFoundException e)
        {
            throw new HdxException("SafetensorsNotFound", HdxErrorKind.NotFound, $"{path} does not exist.", path, innerException: e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HdxException("SafetensorsReadFailed", HdxErrorKind.ReadError, $"{path} cannot be read: {e.Message}", path, innerException: e);
        }

        long length = stream.Length;
        if (length < 8)
        {
            stream.Dispose();
            throw new HdxException("SafetensorsTruncated", HdxErrorKind.InvalidData,
                $"{path} holds {length} bytes, too few for a safetensors header length (truncated file?).", path,
                "The file is incomplete; download or copy it again.");
        }

        var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* pointer = null;
        try
        {
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            pointer += view.PointerOffset;
            long headerLength = *(long*)pointer;
            if (headerLength < 0 || headerLength > length - 8 || headerLength > SafetensorsHeader.MaxHeaderLength)
            {
                throw new HdxException("SafetensorsHeaderOutOfRange", HdxErrorKind.InvalidData,
                    $"{path} declares a {headerLength}-byte header but the file holds {length} bytes (truncated or not safetensors).",
                    path, "The file is incomplete or corrupt; download or copy it again.");
            }

            var header = new ReadOnlySpan<byte>(pointer + 8, checked((int)headerLength));
            long dataLength = length - 8 - headerLength;
            var (tensors, metadata) = SafetensorsHeader.Parse(header, dataLength, path);
            return new SafetensorsFile(path, map, view, pointer + 8 + headerLength, tensors, metadata);
        }
        catch
        {
            if (pointer != null)
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
            }

            view.Dispose();
            map.Dispose();
            throw;
        }
    }

    public SafetensorsTensor Get(string name) => _tensors[name];

    /// <summary>The raw bytes of elements [start, start + count) of a tensor (flat element index).</summary>
    public ReadOnlySpan<byte> RawElements(SafetensorsTensor tensor, long start, int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int size = SafetensorsDtypes.ElementSize(tensor.Dtype);
        if (start < 0 || count < 0 || start + count > tensor.ElementCount)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"elements [{start}, {start + count}) are outside '{tensor.Name}'");
        }

        return new ReadOnlySpan<byte>(_data + tensor.Begin + (start * size), checked(count * size));
    }

    /// <summary>Converts elements [start, start + destination.Length) of a tensor to float.</summary>
    public void ReadSingles(SafetensorsTensor tensor, long start, Span<float> destination) =>
        ElementConversion.ToSingle(RawElements(tensor, start, destination.Length), tensor.Dtype, destination);

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }
}
