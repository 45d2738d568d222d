namespace HyperDex.Runtime.Compiled;

/// <summary>Element types of weights in checkpoints and compiled parameter images.</summary>
public enum HdxDtype
{
    F32,
    F16,
    BF16,

    /// <summary>Weight-only 8-bit: blocks of 32 int8 values along the input dimension, each with one fp32 scale (like Q8_0).</summary>
    Q8,
}

public static class HdxDtypeNames
{
    /// <summary>Parses the user-facing names (fp32, fp16, bf16, int8) and safetensors names (F32, F16, BF16).</summary>
    public static bool TryParse(string text, out HdxDtype dtype)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "fp32" or "f32" or "float32": dtype = HdxDtype.F32; return true;
            case "fp16" or "f16" or "float16": dtype = HdxDtype.F16; return true;
            case "bf16" or "bfloat16": dtype = HdxDtype.BF16; return true;
            case "int8" or "q8": dtype = HdxDtype.Q8; return true;
            default: dtype = default; return false;
        }
    }

    /// <summary>The user-facing name, as accepted by -Dtype.</summary>
    public static string ToUserName(this HdxDtype dtype) => dtype switch
    {
        HdxDtype.F32 => "fp32",
        HdxDtype.F16 => "fp16",
        HdxDtype.BF16 => "bf16",
        HdxDtype.Q8 => "int8",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };
}
