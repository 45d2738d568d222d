using HyperDex.Runtime.Architectures;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// What phase 3 cuts device images from: every canonical tensor of a model as elements in its converted dtype
/// (<see cref="CheckpointConverter.TensorDtype"/>). Either streamed from the source checkpoint through the
/// descriptor's transforms (<see cref="StreamedTensors"/>, the default: no ckpt/ copy of the weights is written), or
/// read from a converted ckpt/ (<see cref="ConvertedTensors"/>, when one was kept). Both give the same bytes, so the
/// images do not depend on which was used.
/// </summary>
internal interface ICanonicalTensors
{
    /// <summary>The dtype the elements of <paramref name="canonical"/> are read in.</summary>
    HdxDtype DtypeOf(string canonical);

    /// <summary>Elements [start, start + count) of a canonical tensor (flat index); valid until the next call.</summary>
    ReadOnlySpan<byte> Read(string canonical, long start, int count);
}

/// <summary>The canonical tensors straight from the source checkpoint, the tensor being read converted on demand.</summary>
internal sealed class StreamedTensors : ICanonicalTensors
{
    private readonly ModelSource _source;
    private readonly HdxDtype _target;
    private readonly Dictionary<string, ExpectedTensor> _byCanonical;
    private readonly CancellationToken _cancellation;
    private string? _currentName;
    private TransformedTensor? _current;

    public StreamedTensors(ModelSource source, HdxDtype target, CancellationToken cancellation)
    {
        _source = source;
        _target = target;
        _byCanonical = source.Shape.Tensors.ToDictionary(t => t.Canonical, StringComparer.Ordinal);
        _cancellation = cancellation;
    }

    public HdxDtype DtypeOf(string canonical) => CheckpointConverter.TensorDtype(_byCanonical[canonical].Role, _target);

    public ReadOnlySpan<byte> Read(string canonical, long start, int count)
    {
        if (_currentName != canonical)
        {
            // Phase 3 reads tensor after tensor (on N devices, each tensor's slices one after another): one at a time.
            var expected = _byCanonical[canonical];
            _current = new TransformedTensor(_source.Weights.FileOf(expected.Source), _source.Weights.Get(expected.Source), expected,
                DtypeOf(canonical), _cancellation);
            _currentName = canonical;
        }

        return _current!.Read(start, count);
    }
}

/// <summary>
/// The canonical tensors of a kept ckpt/hdx_model.safetensors. That file is read back from disk, so it is untrusted
/// like any input: every tensor phase 3 needs must be there with the shape and dtype the architecture expects.
/// </summary>
internal sealed class ConvertedTensors : ICanonicalTensors
{
    private readonly SafetensorsFile _file;
    private readonly Dictionary<string, SafetensorsTensor> _tensors = new(StringComparer.Ordinal);

    public ConvertedTensors(SafetensorsFile file, ModelShape shape, HdxDtype target)
    {
        _file = file;
        foreach (var expected in shape.Tensors)
        {
            var dtype = CheckpointConverter.TensorDtype(expected.Role, target);
            if (!file.Tensors.TryGetValue(expected.Canonical, out var tensor) || tensor.Dtype != dtype || !tensor.Shape.SequenceEqual(expected.Shape))
            {
                string found = tensor is null ? "is missing" : $"is {tensor.Dtype} {tensor.ShapeText}";
                throw new HdxException("ConvertedCheckpointMismatch", HdxErrorKind.InvalidData,
                    $"{file.Path}: tensor '{expected.Canonical}' {found}, expected {dtype} {expected.ShapeText}.", file.Path,
                    "The kept checkpoint is damaged or from another model: compile again with -Force to rebuild the folder from the source.");
            }

            _tensors[expected.Canonical] = tensor;
        }
    }

    public HdxDtype DtypeOf(string canonical) => _tensors[canonical].Dtype;

    public ReadOnlySpan<byte> Read(string canonical, long start, int count) => _file.RawElements(_tensors[canonical], start, count);
}
