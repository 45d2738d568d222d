using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Engine;

/// <summary>
/// The structural check of a device program before the binder sizes anything from it: no missing collections or
/// names, and every dimension within a bound, in checked 64-bit arithmetic. A program is untrusted input: a width
/// of −1 or 2^31 − 1, a KV block of 2^30 positions or a vocabulary slice past int.MaxValue must fail with
/// CompiledModelInvalid, never overflow, allocate without bound or index outside an array.
/// </summary>
internal static class ProgramBounds
{
    /// <summary>The widest activation row or KV head slice any supported model needs, with a wide margin.</summary>
    public const int MaxWidth = 1 << 22;

    public const int MaxKvBlockSize = 1 << 16;

    public const int MaxVocabulary = 1 << 26;

    /// <summary>Heads and head dimensions: real models stay below 256; the binder sizes tables by them × MaxLength.</summary>
    public const int MaxHeads = 1 << 12;

    /// <summary>The most floats one per-position table (rotary angles, attention scores) may hold: 1 GB.</summary>
    public const long MaxTableFloats = 1L << 28;

    private static readonly string[] HeadAttributes = ["heads", "kvHeads", "headDim"];

    /// <summary>Null when the program is within bounds for a model of <paramref name="maxLength"/> positions; else what is wrong.</summary>
    public static string? Problem(DeviceProgram program, int maxLength)
    {
        if (program.Buffers is null || program.KvCaches is null || program.Instructions is null)
        {
            return "a section (buffers, kvCaches, instructions) is missing";
        }

        if (program.MaxLength < 1 || program.MaxLength > maxLength)
        {
            return $"maxLength {program.MaxLength} lies outside 1..{maxLength} (hdx.json's MaxLength)";
        }

        if (program.KvBlockSize < 1 || program.KvBlockSize > MaxKvBlockSize || program.VocabSize < 1 || program.VocabSize > MaxVocabulary)
        {
            return $"kvBlockSize {program.KvBlockSize} or vocabSize {program.VocabSize} is out of bounds";
        }

        foreach (var buffer in program.Buffers)
        {
            if (buffer?.Name is null || buffer.Width < 1 || buffer.Width > MaxWidth)
            {
                return $"buffer '{buffer?.Name}' has no name or a width outside 1..{MaxWidth}";
            }
        }

        foreach (var cache in program.KvCaches)
        {
            if (cache is null || cache.Layer < 0 || cache.KvHeads is < 1 or > MaxHeads || cache.HeadDim is < 1 or > MaxHeads)
            {
                return $"a KV cache declaration (layer {cache?.Layer}) is out of bounds";
            }
        }

        foreach (var instruction in program.Instructions)
        {
            if (InstructionProblem(instruction, program.VocabSize, program.MaxLength) is string problem)
            {
                return problem;
            }
        }

        return null;
    }

    private static string? InstructionProblem(Instruction? instruction, int vocabSize, int maxLength)
    {
        if (instruction is null || !Enum.IsDefined(instruction.Op) || instruction.Inputs is null || instruction.Outputs is null
            || instruction.Weights is null || instruction.Attributes is null
            || instruction.Inputs.Concat(instruction.Outputs).Concat(instruction.Weights).Any(name => name is null))
        {
            return "an instruction has an unknown op or a missing list or name";
        }

        // Checked in 64 bits: an int sum of vocabStart 2147483600 and a count wraps negative and passes "<= VocabSize".
        bool hasStart = instruction.Attributes.TryGetValue("vocabStart", out double start);
        bool hasCount = instruction.Attributes.TryGetValue("vocabCount", out double count);
        if ((hasStart || hasCount) && !(start >= 0 && count >= 0 && start + count <= vocabSize))
        {
            return $"{instruction.Op}'s vocabulary slice [{start}, {start} + {count}) lies outside the vocabulary of {vocabSize}";
        }

        foreach (string name in HeadAttributes)
        {
            if (instruction.Attributes.TryGetValue(name, out double value) && !(value >= 1 && value <= MaxHeads && value * maxLength <= MaxTableFloats))
            {
                return $"{instruction.Op}'s {name} {value} is out of bounds for {maxLength} positions";
            }
        }

        return null;
    }
}
