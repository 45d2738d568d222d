using System.Globalization;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Engine.Kernels;
using HyperDex.Runtime.Engine.Ops;

namespace HyperDex.Runtime.Engine;

/// <summary>
/// Turns one device's <see cref="DeviceProgram"/> into bound ops, checking every buffer, weight shape and attribute
/// against the op's contract first, so a malformed compiled model fails at load with a clear error, never mid-step.
/// </summary>
internal sealed unsafe class ProgramBinder
{
    private readonly DeviceState _device;
    private readonly StepContext _step;
    private readonly AllReduceGroup _group;
    private readonly Dictionary<string, RotaryTable> _rotaryTables;
    private readonly string _source;
    private readonly ActivationBuffer _normalized;
    private readonly ActivationBuffer _up;

    public ProgramBinder(DeviceState device, StepContext step, AllReduceGroup group, Dictionary<string, RotaryTable> rotaryTables, string source)
    {
        _device = device;
        _step = step;
        _group = group;
        _rotaryTables = rotaryTables;
        _source = source;
        int widest = device.Program.Buffers.Count == 0 ? 1 : device.Program.Buffers.Max(b => b.Width);
        _normalized = new ActivationBuffer("normalized", widest);
        _up = new ActivationBuffer("up", widest);
        device.Scratch.Add(_normalized);
        device.Scratch.Add(_up);
    }

    public void Bind(int blockCount)
    {
        DeviceProgram program = _device.Program;
        foreach (var declaration in program.Buffers)
        {
            Check(declaration.Width > 0 && !_device.Buffers.ContainsKey(declaration.Name), $"buffer '{declaration.Name}' is declared twice or has no width");
            _device.Buffers[declaration.Name] = new ActivationBuffer(declaration.Name, declaration.Width);
        }

        foreach (var cache in program.KvCaches)
        {
            Check(cache.KvHeads > 0 && cache.HeadDim > 0 && !_device.Kv.ContainsKey(cache.Layer), $"KV cache of layer {cache.Layer} is invalid");
            _device.Kv[cache.Layer] = new KvLayerStorage(blockCount, program.KvBlockSize, cache.KvHeads, cache.HeadDim);
        }

        _device.Ops = program.Instructions.Select(BindOne).ToArray();
        Check(program.Instructions.Count > 0 && program.Instructions[^1].Op == OpCode.FinalNormLogits, "the program does not end with FinalNormLogits");
    }

    private BoundOp BindOne(Instruction instruction, int index)
    {
        try
        {
            return instruction.Op switch
            {
                OpCode.Embed => BindEmbed(instruction),
                OpCode.NormProject => BindNormProject(instruction),
                OpCode.RotaryKvWrite => BindRotary(instruction),
                OpCode.Attention => BindAttention(instruction),
                OpCode.NormGateUpActivation => BindGateUp(instruction),
                OpCode.ProjectAllReduceAdd => BindAllReduce(instruction),
                OpCode.FinalNormLogits => BindLogits(instruction),
                _ => throw Invalid($"op {instruction.Op} is not supported by this engine"),
            };
        }
        catch (HdxException error) when (error.ErrorId == "CompiledModelInvalid")
        {
            throw new HdxException(error.ErrorId, error.Kind, $"instruction {index} ({instruction.Op}): {error.Message}",
                error.Target, error.RecommendedAction);
        }
    }

    private EmbedOp BindEmbed(Instruction instruction)
    {
        ActivationBuffer output = Output(instruction, 0);
        WeightTensor table = Weight(instruction, 0, rows: null, cols: output.Width);
        return new EmbedOp(table, output, (float)Attribute(instruction, "scale", 1));
    }

    private NormProjectOp BindNormProject(Instruction instruction)
    {
        ActivationBuffer input = Input(instruction, 0);
        int count = instruction.Outputs.Count;
        Check(count > 0 && instruction.Weights.Count is var w && (w == 1 + count || w == 1 + 2 * count), "NormProject needs [norm, W_1..W_n, b_1..b_n]");
        WeightTensor norm = Weight(instruction, 0, 1, input.Width);
        var targets = new List<ProjectionJob.Target>();
        for (int i = 0; i < count; i++)
        {
            ActivationBuffer output = Output(instruction, i);
            WeightTensor matrix = Weight(instruction, 1 + i, output.Width, input.Width);
            float* bias = instruction.Weights.Count > 1 + count ? OptionalBias(instruction, 1 + count + i, output.Width) : null;
            targets.Add(new ProjectionJob.Target(matrix, output, 0, bias));
        }

        return new NormProjectOp(input, norm, (float)Attribute(instruction, "eps"), _normalized, new ProjectionJob(targets, _device.Pool.Workers));
    }

    private NormProjectOp BindGateUp(Instruction instruction)
    {
        ActivationBuffer input = Input(instruction, 0);
        ActivationBuffer output = Output(instruction, 0);
        Check(instruction.Weights.Count == 3, "NormGateUpActivation needs [norm, gate, up]");
        WeightTensor norm = Weight(instruction, 0, 1, input.Width);
        WeightTensor gate = Weight(instruction, 1, output.Width, input.Width);
        WeightTensor up = Weight(instruction, 2, output.Width, input.Width);
        int activation = (int)Attribute(instruction, "activation", Activations.Silu);
        Check(activation == Activations.Silu, $"activation {activation} is not supported");
        var targets = new[] { new ProjectionJob.Target(gate, output, 0, null), new ProjectionJob.Target(up, _up, 0, null) };
        return new NormProjectOp(input, norm, (float)Attribute(instruction, "eps"), _normalized,
            new ProjectionJob(targets, _device.Pool.Workers), (output, _up, activation));
    }

    private RotaryKvWriteOp BindRotary(Instruction instruction)
    {
        int heads = Integer(instruction, "heads");
        int kvHeads = Integer(instruction, "kvHeads");
        int headDim = Integer(instruction, "headDim");
        Check(headDim % 2 == 0, "headDim must be even");
        ActivationBuffer q = Input(instruction, 0, heads * headDim);
        ActivationBuffer k = Input(instruction, 1, kvHeads * headDim);
        ActivationBuffer v = Input(instruction, 2, kvHeads * headDim);
        KvLayerStorage cache = Cache(instruction, kvHeads, headDim);

        double theta = Attribute(instruction, "ropeTheta");
        int scaling = (int)Attribute(instruction, "ropeScalingType", RotaryTable.ScalingNone);
        double factor = Attribute(instruction, "ropeFactor", 1);
        double low = Attribute(instruction, "ropeLowFreqFactor", 1);
        double high = Attribute(instruction, "ropeHighFreqFactor", 4);
        double original = Attribute(instruction, "ropeOriginalMaxPositions", 8192);
        Check(scaling is RotaryTable.ScalingNone or RotaryTable.ScalingLinear or RotaryTable.ScalingLlama3, $"rope scaling type {scaling} is not supported");
        string key = string.Join(',', new double[] { headDim, theta, scaling, factor, low, high, original }.Select(x => x.ToString("R", CultureInfo.InvariantCulture)));
        if (!_rotaryTables.TryGetValue(key, out var table))
        {
            table = new RotaryTable(headDim, _device.Program.MaxLength, theta, scaling, factor, low, high, original);
            _rotaryTables[key] = table;
        }

        return new RotaryKvWriteOp(q, k, v, heads, table, cache);
    }

    private AttentionOp BindAttention(Instruction instruction)
    {
        int heads = Integer(instruction, "heads");
        int kvHeads = Integer(instruction, "kvHeads");
        int headDim = Integer(instruction, "headDim");
        Check(heads % kvHeads == 0, "heads must be a multiple of kvHeads");
        ActivationBuffer q = Input(instruction, 0, heads * headDim);
        ActivationBuffer output = Output(instruction, 0, heads * headDim);
        KvLayerStorage cache = Cache(instruction, kvHeads, headDim);
        return new AttentionOp(q, output, heads, (float)Attribute(instruction, "scale"), cache, _device.Program.MaxLength, _device.Pool.Workers);
    }

    private ProjectAllReduceAddOp BindAllReduce(Instruction instruction)
    {
        ActivationBuffer input = Input(instruction, 0);
        ActivationBuffer output = Output(instruction, 0);
        Check(output.Width == _group.Width, $"all-reduce output '{output.Name}' is {output.Width} wide, the residual {_group.Width}");
        WeightTensor matrix = Weight(instruction, 0, output.Width, null);
        Check(matrix.Cols <= input.Width, $"'{matrix.Name}' has more columns than '{input.Name}' is wide");
        float* bias = OptionalBias(instruction, 1, output.Width);
        var jobs = new ProjectionJob[2];
        for (int parity = 0; parity < 2; parity++)
        {
            jobs[parity] = new ProjectionJob([new ProjectionJob.Target(matrix, _group.Partial(_device.Device, parity), 0, null)], _device.Pool.Workers);
        }

        return new ProjectAllReduceAddOp(jobs, input, output, _group, bias);
    }

    private FinalNormLogitsOp BindLogits(Instruction instruction)
    {
        ActivationBuffer input = Input(instruction, 0);
        WeightTensor norm = Weight(instruction, 0, 1, input.Width);
        int start = Integer(instruction, "vocabStart", allowZero: true);
        int count = Integer(instruction, "vocabCount");
        Check((long)start + count <= _device.Program.VocabSize, "vocabulary slice lies outside VocabSize");
        WeightTensor head = Weight(instruction, 1, count, input.Width);
        var job = new ProjectionJob([new ProjectionJob.Target(head, _step.Logits, start, null)], _device.Pool.Workers);
        return new FinalNormLogitsOp(input, norm, (float)Attribute(instruction, "eps"), _normalized, job);
    }

    private KvLayerStorage Cache(Instruction instruction, int kvHeads, int headDim)
    {
        Check(_device.Kv.TryGetValue(instruction.Layer, out var cache), $"no KV cache is declared for layer {instruction.Layer}");
        Check(cache!.KvHeads == kvHeads && cache.HeadDim == headDim, $"KV cache of layer {instruction.Layer} does not match kvHeads/headDim");
        return cache;
    }

    private ActivationBuffer Input(Instruction instruction, int index, int? width = null) => Buffer(instruction.Inputs, index, width, "input");

    private ActivationBuffer Output(Instruction instruction, int index, int? width = null) => Buffer(instruction.Outputs, index, width, "output");

    private ActivationBuffer Buffer(IReadOnlyList<string> names, int index, int? width, string role)
    {
        Check(index < names.Count, $"{role} {index} is missing");
        Check(_device.Buffers.TryGetValue(names[index], out var buffer), $"{role} buffer '{names[index]}' is not declared");
        Check(width is null || buffer!.Width >= width, $"{role} buffer '{names[index]}' is narrower than {width}");
        return buffer!;
    }

    private WeightTensor Weight(Instruction instruction, int index, int? rows, int? cols)
    {
        Check(index < instruction.Weights.Count, $"weight {index} is missing");
        string name = instruction.Weights[index];
        Check(_device.Image.TryGet(name, out var tensor), $"weight '{name}' is not in the parameter image");
        Check((rows is null || tensor.Rows == rows) && (cols is null || tensor.Cols == cols),
            $"weight '{name}' is [{tensor.Rows}, {tensor.Cols}], expected [{rows?.ToString(CultureInfo.InvariantCulture) ?? "*"}, {cols?.ToString(CultureInfo.InvariantCulture) ?? "*"}]");
        Check(rows == 1 ? !tensor.IsMatrix && tensor.Dtype == HdxDtype.F32 : tensor.IsMatrix, rows == 1 ? $"vector '{name}' must be F32" : $"'{name}' must be a matrix");
        return tensor;
    }

    private float* OptionalBias(Instruction instruction, int index, int width)
    {
        if (index >= instruction.Weights.Count || instruction.Weights[index].Length == 0)
        {
            return null;
        }

        return (float*)Weight(instruction, index, 1, width).Data;
    }

    private double Attribute(Instruction instruction, string name, double? fallback = null)
    {
        if (instruction.Attributes.TryGetValue(name, out double value) && double.IsFinite(value))
        {
            return value;
        }

        return fallback ?? throw Invalid($"attribute '{name}' is missing");
    }

    private int Integer(Instruction instruction, string name, bool allowZero = false)
    {
        double value = Attribute(instruction, name);
        Check(value == Math.Floor(value) && (value > 0 || (allowZero && value == 0)) && value < int.MaxValue, $"attribute '{name}' must be a positive integer");
        return (int)value;
    }

    private void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw Invalid(message);
        }
    }

    private HdxException Invalid(string message) =>
        new("CompiledModelInvalid", HdxErrorKind.InvalidData, $"{_source}: {message}", _source,
            "Compile the model again with Invoke-HdxCompile; the engine and compiler versions may differ.");
}
