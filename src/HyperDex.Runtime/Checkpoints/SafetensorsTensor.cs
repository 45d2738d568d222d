using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Checkpoints;

/// <summary>One tensor of a safetensors file: dtype, shape and its byte range inside the data section.</summary>
public sealed record SafetensorsTensor(string Name, HdxDtype Dtype, IReadOnlyList<long> Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (product, dim) => product * dim);

    public long ByteLength => End - Begin;

    /// <summary>The last dimension (elements per row); 1-D tensors are one row.</summary>
    public long Columns => Shape.Count == 0 ? 1 : Shape[^1];

    public long Rows => Columns == 0 ? 0 : ElementCount / Columns;

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
