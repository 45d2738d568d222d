using System.IO.MemoryMappedFiles;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Engine;

/// <summary>
/// One device's weight image (param/N/device{d}.bin), memory-mapped read-only: the OS pages weights in on first
/// use and shares them between processes, so loading costs no copy.
/// </summary>
internal sealed unsafe partial class ParamImage : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly Dictionary<string, WeightTensor> _tensors = new(StringComparer.Ordinal);

    public ParamImage(string imagePath, ParamIndex index)
    {
        long size = new FileInfo(imagePath).Length;
        if (size < index.TotalBytes)
        {
            throw new HdxException("CompiledModelInvalid", HdxErrorKind.InvalidData,
                $"{imagePath} holds {size} bytes but its index declares {index.TotalBytes}", imagePath,
                "Compile the model again with Invoke-HdxCompile.");
        }

        Length = size;
        _file = MemoryMappedFile.CreateFromFile(imagePath, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            _base = pointer + _view.PointerOffset;
            AdviseHugePages(pointer, _view.PointerOffset + size);
        }
        catch
        {
            _view?.Dispose();
            _file.Dispose();
            throw;
        }

        foreach (var tensor in index.Tensors)
        {
            bool isMatrix = tensor.Shape.Count == 2;
            int rows = isMatrix ? tensor.Shape[0] : 1;
            int cols = tensor.Shape[^1];
            if (tensor.Shape.Count is < 1 or > 2 || tensor.Shape.Any(d => d <= 0) || tensor.Offset % CompiledLayout.TensorAlignment != 0
                || tensor.Offset + tensor.Length > size
                || tensor.Length != WeightTensor.ExpectedLength(tensor.Dtype, tensor.Shape)
                || (tensor.Dtype == HdxDtype.Q8 && cols % WeightTiles.Q8BlockSize != 0))
            {
                Dispose();
                throw new HdxException("CompiledModelInvalid", HdxErrorKind.InvalidData,
                    $"tensor '{tensor.Name}' of {imagePath} has an inconsistent shape, dtype, offset or length", imagePath,
                    "Compile the model again with Invoke-HdxCompile.");
            }

            _tensors[tensor.Name] = new WeightTensor(tensor.Name, tensor.Dtype, rows, cols, _base + tensor.Offset, tensor.Length, isMatrix);
        }
    }

    /// <summary>Bytes of the mapped image.</summary>
    public long Length { get; }

    /// <summary>
    /// Asks Linux for transparent huge pages over the mapping (fewer TLB misses while decode streams every weight);
    /// a hint only: kernels without file-backed THP ignore it, and so do we if it fails.
    /// </summary>
    private static void AdviseHugePages(byte* start, long length)
    {
        if (OperatingSystem.IsLinux() && length > 0)
        {
            _ = NativeMethods.madvise((nint)start, (nuint)length, NativeMethods.MadviseHugePage);
        }
    }

    private static partial class NativeMethods
    {
        public const int MadviseHugePage = 14;

        [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
        public static partial int madvise(nint address, nuint length, int advice);
    }

    public bool TryGet(string name, out WeightTensor tensor) => _tensors.TryGetValue(name, out tensor!);

    public void Dispose()
    {
        _view?.SafeMemoryMappedViewHandle.ReleasePointer();
        _view?.Dispose();
        _file.Dispose();
    }
}
