using System.Globalization;

namespace HyperDex.Runtime.Compiled;

/// <summary>What one op takes: operand counts, attributes (required and optional) and the allowed values of each mode.</summary>
public sealed record OpSchema(OpCode Op, (int Min, int Max) Inputs, (int Min, int Max) Outputs, IReadOnlyList<string> Required,
    IReadOnlyList<string> Optional, IReadOnlyDictionary<string, string[]> Modes);

/// <summary>
/// The one schema of every op, shared by the compiler (which checks every instruction it emits) and every backend
/// (which checks every instruction it binds), so neither can drift from the other.
/// </summary>
public static class OpSchemas
{
    public static readonly string[] NormKinds = ["rms", "layer"];
    public static readonly string[] ActivationNames = ["silu", "gelu", "gelu_tanh", "relu"];
    public static readonly string[] Epilogues = ["none", "act", "gated"];
    public static readonly string[] RotaryStyles = ["half", "interleaved"];
    public static readonly string[] RopeScalings = ["none", "linear", "llama3"];
    public static readonly string[] Reductions = ["add", "assign"];

    private static readonly Dictionary<OpCode, OpSchema> Schemas = new OpSchema[]
    {
        new(OpCode.Embed, (0, 0), (1, 1), [], ["scale", "positionOffset"], Modes()),
        new(OpCode.Norm, (1, 1), (1, 1), ["eps"], ["group", "distributed"], Modes(("kind", NormKinds))),
        new(OpCode.Project, (1, 1), (1, 8), [], ["clamp"], Modes(("epilogue", Epilogues), ("activation", ActivationNames))),
        new(OpCode.Rotary, (2, 2), (0, 0), ["heads", "kvHeads", "headDim", "rotaryDim", "theta"],
            ["factor", "lowFreqFactor", "highFreqFactor", "originalMaxPositions"], Modes(("style", RotaryStyles), ("scaling", RopeScalings))),
        new(OpCode.KvWrite, (2, 2), (0, 0), [], [], Modes()),
        new(OpCode.Attention, (1, 1), (1, 1), ["heads", "kvHeads", "headDim", "scale"], ["window", "softcap"], Modes()),
        new(OpCode.ProjectAllReduce, (1, 1), (1, 1), [], ["scale"], Modes(("reduce", Reductions))),
        new(OpCode.Add, (1, 1), (1, 1), [], ["scale"], Modes()),
        new(OpCode.Experts, (1, 1), (1, 1), ["experts", "topK"], ["normTopK"], Modes(("reduce", Reductions), ("activation", ActivationNames))),
        new(OpCode.Logits, (1, 1), (0, 0), ["vocabStart", "vocabCount"], ["scale", "softcap"], Modes()),
    }.ToDictionary(s => s.Op);

    public static OpSchema Of(OpCode op) => Schemas.TryGetValue(op, out var schema) ? schema : throw new ArgumentOutOfRangeException(nameof(op), op, "unknown op");

    /// <summary>The first way <paramref name="instruction"/> breaks its op's schema, or null when it keeps it.</summary>
    public static string? Violation(Instruction instruction)
    {
        if (!Schemas.TryGetValue(instruction.Op, out var schema))
        {
            return $"op {instruction.Op} is not part of this op set";
        }

        if (instruction.Inputs.Count < schema.Inputs.Min || instruction.Inputs.Count > schema.Inputs.Max)
        {
            return $"{instruction.Op} takes {schema.Inputs.Min}..{schema.Inputs.Max} inputs, not {instruction.Inputs.Count}";
        }

        if (instruction.Outputs.Count < schema.Outputs.Min || instruction.Outputs.Count > schema.Outputs.Max)
        {
            return $"{instruction.Op} takes {schema.Outputs.Min}..{schema.Outputs.Max} outputs, not {instruction.Outputs.Count}";
        }

        foreach (string name in schema.Required)
        {
            if (!instruction.Attributes.ContainsKey(name))
            {
                return $"attribute '{name}' is missing";
            }
        }

        foreach (var (name, value) in instruction.Attributes)
        {
            if (!schema.Required.Contains(name) && !schema.Optional.Contains(name))
            {
                return $"attribute '{name}' is not one of {instruction.Op}'s";
            }

            if (!double.IsFinite(value))
            {
                return string.Create(CultureInfo.InvariantCulture, $"attribute '{name}' is {value}, not a finite number");
            }
        }

        foreach (var (name, value) in instruction.Modes)
        {
            if (!schema.Modes.TryGetValue(name, out var allowed))
            {
                return $"mode '{name}' is not one of {instruction.Op}'s";
            }

            if (!allowed.Contains(value, StringComparer.Ordinal))
            {
                return $"mode {name} = '{value}' is not one of {string.Join(", ", allowed)}";
            }
        }

        return null;
    }

    private static Dictionary<string, string[]> Modes(params (string Name, string[] Values)[] modes) =>
        modes.ToDictionary(m => m.Name, m => m.Values, StringComparer.Ordinal);
}
