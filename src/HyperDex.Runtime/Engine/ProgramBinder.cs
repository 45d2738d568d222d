using System.Globalization;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Engine.Kernels;
using HyperDex.Runtime.Engine.Ops;

namespace HyperDex.Runtime.Engine;

/// <summary>
/// Turns one device's <see cref="DeviceProgram"/> into bound ops, checking every instruction against its
/// <see cref="OpSchemas"/> entry and every buffer, weight shape and attribute against the op's contract first, so a
/// malformed compiled model fails at load with a clear error, never mid-step. Arithmetic on untrusted numbers is
/// done in 64 bits.
/// </summary>
internal sealed unsafe class ProgramBinder
{
    private readonly DeviceState _device;
    private readonly StepContext _step;
    private readonly AllReduceGroup _group;
    private readonly Dictionary<string, RotaryTable> _rotaryTables;
    private readonly string _source;
    private ActivationBuffer? _up;
    private ActivationBuffer? _reduced;
    private ActivationBuffer? _gathered;

    public ProgramBinder(DeviceState device, StepContext step, AllReduceGroup group, Dictionary<string, RotaryTable> rotaryTables, string source)
    {
        _device = device;
        _step = step;
        _group = group;
        _rotaryTables = rotaryTables;
        _source = source;
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
            Check((long)blockCount * program.KvBlockSize * cache.KvHeads * cache.HeadDim <= Array.MaxLength,
                $"KV cache of layer {cache.Layer} would exceed the largest array");
            _device.Kv[cache.Layer] = new KvLayerStorage(blockCount, program.KvBlockSize, cache.KvHeads, cache.HeadDim);
        }

        Check(program.Instructions.Count > 0 && program.Instructions[0].Op == OpCode.Embed, "the program does not start with Embed");
        Check(program.Instructions[^1].Op == OpCode.Logits, "the program does not end with Logits");
        _device.Ops = program.Instructions.Select(BindOne).ToArray();
    }

    private BoundOp BindOne(Instruction instruction, int index)
    {
        try
        {
            if (OpSchemas.Violation(instruction) is { } violation)
            {
                throw Invalid(violation);
            }

            return instruction.Op switch
            {
                OpCode.Embed => BindEmbed(instruction),
                OpCode.Norm => BindNorm(instruction),
                OpCode.Project => BindProject(instruction),
                OpCode.Rotary => BindRotary(instruction),
                OpCode.KvWrite => BindKvWrite(instruction),
                OpCode.Attention => BindAttention(instruction),
                OpCode.ProjectAllReduce => BindAllReduce(instruction),
                OpCode.Add => BindAdd(instruction),
                OpCode.Experts => BindExperts(instruction),
                OpCode.Logits => BindLogits(instruction),
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
        WeightTensor? positions = OptionalMatrix(instruction, 1, output.Width);
        int offset = Integer(instruction, "positionOffset", 0, allowZero: true);
        Check(positions is null || (long)positions.Rows >= (long)_device.Program.MaxLength + offset,
            "the position table has fewer rows than MaxLength + positionOffset");
        return new EmbedOp(table, positions, offset, output, (float)Attribute(instruction, "scale", 1));
    }

    private NormOp BindNorm(Instruction instruction)
    {
        ActivationBuffer input = Input(instruction, 0);
        ActivationBuffer output = Output(instruction, 0, input.Width);
        int width = input.Width;
        int group = Integer(instruction, "group", 0, allowZero: true);
        group = group == 0 ? width : group;
        Check(width % group == 0, $"group {group} does not divide the width {width}");
        WeightTensor? weight = OptionalVector(instruction, 0, width, group);
        WeightTensor? bias = OptionalVector(instruction, 1, width, group);
        bool distributed = Integer(instruction, "distributed", 0, allowZero: true) == 1 && _group.NumDevice > 1;
        Check(!distributed || group == width, "a distributed norm normalises whole rows");
        bool layerNorm = Mode(instruction, "kind", "rms") == "layer";
        return new NormOp(input, output, width, group, layerNorm, (float)Attribute(instruction, "eps"), weight, bias, distributed ? _group : null);
    }

    private ProjectOp BindProject(Instruction instruction)
    {
        ActivationBuffer input = Input(instruction, 0);
        string epilogue = Mode(instruction, "epilogue", "none");
        ActivationKind? activation = instruction.Modes.TryGetValue("activation", out string? name) ? Activations.Parse(name) : null;
        Check(epilogue == "none" || activation is not null, $"epilogue '{epilogue}' needs an activation");
        float clamp = (float)Attribute(instruction, "clamp", 0);
        Check(clamp >= 0, "clamp must not be negative");
        if (epilogue == "gated")
        {
            Check(instruction.Outputs.Count == 1 && instruction.Weights.Count is >= 2 and <= 4, "a gated projection needs one output and [gate, up, b_gate?, b_up?]");
            ActivationBuffer output = Output(instruction, 0);
            WeightTensor gate = Weight(instruction, 0, output.Width, input.Width);
            WeightTensor up = Weight(instruction, 1, output.Width, input.Width);
            ActivationBuffer upBuffer = UpScratch(output.Width);
            var targets = new[]
            {
                new ProjectionJob.Target(gate, output, 0, OptionalBias(instruction, 2, output.Width)),
                new ProjectionJob.Target(up, upBuffer, 0, OptionalBias(instruction, 3, output.Width)),
            };
            return new ProjectOp(input, new ProjectionJob(targets, _device.Pool.Workers), [output], [output.Width], activation,
                (output, upBuffer, output.Width), clamp);
        }

        int count = instruction.Outputs.Count;
        Check(instruction.Weights.Count >= count && instruction.Weights.Count <= 2 * count, "a projection needs [W_1..W_n, b_1..b_n] (biases optional)");
        var list = new List<ProjectionJob.Target>();
        var outputs = new ActivationBuffer[count];
        for (int i = 0; i < count; i++)
        {
            outputs[i] = Output(instruction, i);
            WeightTensor matrix = Weight(instruction, i, outputs[i].Width, input.Width);
            list.Add(new ProjectionJob.Target(matrix, outputs[i], 0, OptionalBias(instruction, count + i, outputs[i].Width)));
        }

        return new ProjectOp(input, new ProjectionJob(list, _device.Pool.Workers), outputs, outputs.Select(o => o.Width).ToArray(),
            epilogue == "act" ? activation : null, null, clamp);
    }

    private RotaryOp BindRotary(Instruction instruction)
    {
        int heads = Integer(instruction, "heads");
        int kvHeads = Integer(instruction, "kvHeads");
        int headDim = Integer(instruction, "headDim");
        int rotaryDim = Integer(instruction, "rotaryDim");
        Check(rotaryDim % 2 == 0 && rotaryDim <= headDim, "rotaryDim must be even and at most headDim");
        ActivationBuffer q = Input(instruction, 0, (long)heads * headDim);
        ActivationBuffer k = Input(instruction, 1, (long)kvHeads * headDim);
        double theta = Attribute(instruction, "theta");
        Check(theta > 0, "theta must be positive");
        int scaling = RotaryTable.Scaling(Mode(instruction, "scaling", "none"));
        double factor = Attribute(instruction, "factor", 1);
        double low = Attribute(instruction, "lowFreqFactor", 1);
        double high = Attribute(instruction, "highFreqFactor", 4);
        double original = Attribute(instruction, "originalMaxPositions", 8192);
        Check(factor > 0 && low > 0 && high > low && original > 0, "rope scaling factors are out of range");
        bool interleaved = Mode(instruction, "style", "half") == "interleaved";
        string key = string.Join(',', new double[] { headDim, rotaryDim, interleaved ? 1 : 0, theta, scaling, factor, low, high, original }
            .Select(x => x.ToString("R", CultureInfo.InvariantCulture)));
        if (!_rotaryTables.TryGetValue(key, out var table))
        {
            table = new RotaryTable(headDim, rotaryDim, interleaved, _device.Program.MaxLength, theta, scaling, factor, low, high, original);
            _rotaryTables[key] = table;
        }

        return new RotaryOp(q, heads * headDim, k, kvHeads * headDim, table);
    }

    private KvWriteOp BindKvWrite(Instruction instruction)
    {
        Check(_device.Kv.TryGetValue(instruction.Layer, out var cache), $"no KV cache is declared for layer {instruction.Layer}");
        long width = (long)cache!.KvHeads * cache.HeadDim;
        return new KvWriteOp(Input(instruction, 0, width), Input(instruction, 1, width), cache);
    }

    private AttentionOp BindAttention(Instruction instruction)
    {
        int heads = Integer(instruction, "heads");
        int kvHeads = Integer(instruction, "kvHeads");
        int headDim = Integer(instruction, "headDim");
        Check(heads % kvHeads == 0, "heads must be a multiple of kvHeads");
        ActivationBuffer q = Input(instruction, 0, (long)heads * headDim);
        ActivationBuffer output = Output(instruction, 0, (long)heads * headDim);
        KvLayerStorage cache = Cache(instruction, kvHeads, headDim);
        int window = Integer(instruction, "window", 0, allowZero: true);
        float softcap = (float)Attribute(instruction, "softcap", 0);
        Check(softcap >= 0, "softcap must not be negative");
        return new AttentionOp(q, output, heads, (float)Attribute(instruction, "scale"), window, softcap, cache, _device.Program.MaxLength,
            _device.Pool.Workers);
    }

    private ProjectAllReduceOp BindAllReduce(Instruction instruction)
    {
        ActivationBuffer input = Input(instruction, 0);
        ActivationBuffer output = Residual(instruction);
        WeightTensor matrix = Weight(instruction, 0, output.Width, null);
        Check(matrix.Cols <= input.Width, $"'{matrix.Name}' has more columns than '{input.Name}' is wide");
        float* bias = OptionalBias(instruction, 1, output.Width);
        var jobs = new ProjectionJob[2];
        for (int parity = 0; parity < 2; parity++)
        {
            jobs[parity] = new ProjectionJob([new ProjectionJob.Target(matrix, _group.Partial(_device.Device, parity), 0, null)], _device.Pool.Workers);
        }

        return new ProjectAllReduceOp(jobs, input, output, Reduced(), _group, bias, Mode(instruction, "reduce", "add") == "add",
            (float)Attribute(instruction, "scale", 1));
    }

    private AddOp BindAdd(Instruction instruction)
    {
        ActivationBuffer output = Output(instruction, 0);
        ActivationBuffer input = Input(instruction, 0, output.Width);
        return new AddOp(input, output, output.Width, (float)Attribute(instruction, "scale", 1));
    }

    private ExpertsOp BindExperts(Instruction instruction)
    {
        ActivationBuffer input = Input(instruction, 0);
        ActivationBuffer output = Residual(instruction);
        int experts = Integer(instruction, "experts");
        int topK = Integer(instruction, "topK");
        Check(topK <= experts, "topK exceeds the number of experts");
        Check(instruction.Weights.Count == 1 + 3L * experts, "Experts needs [router, gate_0, up_0, down_0, ...]");
        WeightTensor router = Weight(instruction, 0, experts, input.Width);
        var list = new List<(WeightTensor, WeightTensor, WeightTensor)>();
        int? intermediate = null;
        for (int e = 0; e < experts; e++)
        {
            WeightTensor gate = Weight(instruction, 1 + 3 * e, intermediate, input.Width);
            intermediate = gate.Rows;
            list.Add((gate, Weight(instruction, 2 + 3 * e, intermediate, input.Width), Weight(instruction, 3 + 3 * e, output.Width, intermediate)));
        }

        return new ExpertsOp(input, output, Reduced(), _group, router, list, topK, Integer(instruction, "normTopK", 0, allowZero: true) == 1,
            Mode(instruction, "reduce", "add") == "add", Activations.Parse(Mode(instruction, "activation", "silu")), _device.Pool.Workers);
    }

    private LogitsOp BindLogits(Instruction instruction)
    {
        ActivationBuffer input = Input(instruction, 0);
        int start = Integer(instruction, "vocabStart", allowZero: true);
        int count = Integer(instruction, "vocabCount");
        Check((long)start + count <= _device.Program.VocabSize, "vocabulary slice lies outside VocabSize");
        WeightTensor head = Weight(instruction, 0, count, input.Width);
        float softcap = (float)Attribute(instruction, "softcap", 0);
        Check(softcap >= 0, "softcap must not be negative");
        _gathered ??= Scratch(new ActivationBuffer("logit-rows", input.Width));
        Check(_gathered.Width == input.Width, "the Logits inputs of one device differ in width");
        var job = new ProjectionJob([new ProjectionJob.Target(head, _step.Logits, start, null)], _device.Pool.Workers);
        return new LogitsOp(input, _gathered, job, start, count, OptionalBias(instruction, 1, count), (float)Attribute(instruction, "scale", 1), softcap);
    }

    /// <summary>The second output of every gated projection on this device: one buffer, as wide as the widest.</summary>
    private ActivationBuffer UpScratch(int width)
    {
        if (_up is null)
        {
            int widest = _device.Program.Instructions
                .Where(i => i.Op == OpCode.Project && i.Modes.TryGetValue("epilogue", out string? e) && e == "gated" && i.Outputs.Count == 1)
                .Select(i => _device.Buffers.TryGetValue(i.Outputs[0], out var b) ? b.Width : 0).DefaultIfEmpty(width).Max();
            _up = Scratch(new ActivationBuffer("up", Math.Max(widest, width)));
        }

        return _up;
    }

    private ActivationBuffer Reduced() => _reduced ??= Scratch(new ActivationBuffer("reduced", _group.Width));

    private ActivationBuffer Scratch(ActivationBuffer buffer)
    {
        _device.Scratch.Add(buffer);
        return buffer;
    }

    /// <summary>An all-reduce target: a buffer as wide as the residual stream.</summary>
    private ActivationBuffer Residual(Instruction instruction)
    {
        ActivationBuffer output = Output(instruction, 0);
        Check(output.Width == _group.Width, $"all-reduce output '{output.Name}' is {output.Width} wide, the residual {_group.Width}");
        return output;
    }

    private KvLayerStorage Cache(Instruction instruction, int kvHeads, int headDim)
    {
        Check(_device.Kv.TryGetValue(instruction.Layer, out var cache), $"no KV cache is declared for layer {instruction.Layer}");
        Check(cache!.KvHeads == kvHeads && cache.HeadDim == headDim, $"KV cache of layer {instruction.Layer} does not match kvHeads/headDim");
        return cache;
    }

    private ActivationBuffer Input(Instruction instruction, int index, long? width = null) => Buffer(instruction.Inputs, index, width, "input");

    private ActivationBuffer Output(Instruction instruction, int index, long? width = null) => Buffer(instruction.Outputs, index, width, "output");

    private ActivationBuffer Buffer(IReadOnlyList<string> names, int index, long? width, string role)
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
        Check(tensor.IsMatrix, $"'{name}' must be a matrix");
        return tensor;
    }

    private WeightTensor? OptionalMatrix(Instruction instruction, int index, int cols) =>
        index >= instruction.Weights.Count || instruction.Weights[index].Length == 0 ? null : Weight(instruction, index, null, cols);

    /// <summary>An optional F32 vector of one of the given lengths ("" or absent = none).</summary>
    private WeightTensor? OptionalVector(Instruction instruction, int index, params int[] lengths)
    {
        if (index >= instruction.Weights.Count || instruction.Weights[index].Length == 0)
        {
            return null;
        }

        string name = instruction.Weights[index];
        Check(_device.Image.TryGet(name, out var tensor), $"weight '{name}' is not in the parameter image");
        Check(!tensor.IsMatrix && tensor.Dtype == HdxDtype.F32, $"vector '{name}' must be F32");
        Check(lengths.Contains(tensor.Cols), $"vector '{name}' has {tensor.Cols} values, expected {string.Join(" or ", lengths.Distinct())}");
        return tensor;
    }

    private float* OptionalBias(Instruction instruction, int index, int width) =>
        OptionalVector(instruction, index, width) is { } bias ? (float*)bias.Data : null;

    private static string Mode(Instruction instruction, string name, string fallback) =>
        instruction.Modes.TryGetValue(name, out string? value) ? value : fallback;

    private double Attribute(Instruction instruction, string name, double? fallback = null)
    {
        if (instruction.Attributes.TryGetValue(name, out double value) && double.IsFinite(value))
        {
            return value;
        }

        return fallback ?? throw Invalid($"attribute '{name}' is missing");
    }

    private int Integer(Instruction instruction, string name, int? fallback = null, bool allowZero = false)
    {
        double value = Attribute(instruction, name, fallback);
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
