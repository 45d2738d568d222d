using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Checkpoints;

/// <summary>The safetensors dtype names: which exist in the format, which HyperDex reads, and their sizes.</summary>
public static class SafetensorsDtypes
{
    /// <summary>Every dtype the safetensors format defines (so an unsupported one is told apart from garbage).</summary>
    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "I16", "U16", "F16", "BF16",
        "I32", "U32", "F32", "F64", "C64", "I64", "U64",
    };

    public static IReadOnlyList<string> Supported { get; } = new[] { "F32", "F16", "BF16" };

    public static bool IsKnown(string name) => Known.Contains(name);

    public static bool TryParse(string name, out HdxDtype dtype)
    {
        switch (name)
        {
            case "F32": dtype = HdxDtype.F32; return true;
            case "F16": dtype = HdxDtype.F16; return true;
            case "BF16": dtype = HdxDtype.BF16; return true;
            default: dtype = default; return false;
        }
    }

    public static string NameOf(HdxDtype dtype) => dtype switch
    {
        HdxDtype.F32 => "F32",
        HdxDtype.F16 => "F16",
        HdxDtype.BF16 => "BF16",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "safetensors holds only F32, F16 and BF16 here"),
    };

    /// <summary>Bytes per element of the float dtypes (Q8 is blocked and has no per-element size).</summary>
    public static int ElementSize(HdxDtype dtype) => dtype switch
    {
        HdxDtype.F32 => 4,
        HdxDtype.F16 or HdxDtype.BF16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "no per-element size"),
    };
}
