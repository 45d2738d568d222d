using System.IO.MemoryMappedFiles;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Engine;

/// <summary>
/// One device's weight image (param/N/device{d}.bin), memory-mapped read-only: the OS pages weights in on first
/// use and shares them between processes, so loading costs no copy.
/// </summary>
internal sealed unsafe class ParamImage : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly Dictionary<string, WeightTensor> _tensors = new(StringComparer.Ordinal);

    public ParamImage(string imagePath, ParamIndex index)
    {
        // Opened without blocking and sized through the open handle: a symlinked image (a copied model, a shared
        // cache) is measured at its target, and a FIFO planted in its place is refused instead of hanging the load.
        FileStream? stream = RegularFile.OpenRead(imagePath);
        if (stream is null)
        {
            throw Invalid(imagePath, "is not a readable regular file");
        }

        long size = stream.Length;
        if (ParamIndexBounds.Problem(index, size) is string problem)
        {
            stream.Dispose();
            throw Invalid(imagePath, problem);
        }

        Length = size;
        _file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        try
        {
            _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            _base = pointer + _view.PointerOffset;
            // Fewer TLB misses while decode streams every weight; a hint that kernels without file-backed THP ignore.
            HugePageMemory.Advise(pointer, _view.PointerOffset + size);
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
            _tensors[tensor.Name] = new WeightTensor(tensor.Name, tensor.Dtype, rows, tensor.Shape[^1], _base + tensor.Offset, tensor.Length, isMatrix);
        }
    }

    private static HdxException Invalid(string imagePath, string problem) => new("CompiledModelInvalid", HdxErrorKind.InvalidData,
        $"{imagePath}: {problem}", imagePath, "Compile the model again with Invoke-HdxCompile.");

    /// <summary>Bytes of the mapped image.</summary>
    public long Length { get; }

    public bool TryGet(string name, out WeightTensor tensor) => _tensors.TryGetValue(name, out tensor!);

    public void Dispose()
    {
        _view?.SafeMemoryMappedViewHandle.ReleasePointer();
        _view?.Dispose();
        _file.Dispose();
    }
}
