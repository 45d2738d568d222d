using HyperDex.Runtime.Compiled;

namespace HyperDex.TestTools;

/// <summary>
/// `make-model --out DIR [--layers N] [--hidden N] [--heads N] [--kv-heads N] [--intermediate N] [--vocab N]
/// [--max-positions N] [--tied] [--fill-vocab] [--no-eos] [--shards N] [--dtype fp32|fp16|bf16] [--seed N] [--architecture NAME]`:
/// writes a tiny random-weight HF model folder (see <see cref="TinyModel"/>) and prints its path.
/// </summary>
public sealed class MakeModelCommand : ITestToolCommand
{
    public string Name => "make-model";

    public int Run(ToolArguments arguments)
    {
        string dtypeName = arguments.Get("dtype", "fp32");
        if (!HdxDtypeNames.TryParse(dtypeName, out var dtype) || dtype == HdxDtype.Q8)
        {
            throw new ArgumentException($"--dtype {dtypeName}: use fp32, fp16 or bf16");
        }

        var defaults = new TinyModelSpec();
        var spec = new TinyModelSpec
        {
            Layers = arguments.GetInt("layers", defaults.Layers),
            Hidden = arguments.GetInt("hidden", defaults.Hidden),
            Heads = arguments.GetInt("heads", defaults.Heads),
            KvHeads = arguments.GetInt("kv-heads", defaults.KvHeads),
            Intermediate = arguments.GetInt("intermediate", defaults.Intermediate),
            Vocab = arguments.GetInt("vocab", defaults.Vocab),
            MaxPositions = arguments.GetInt("max-positions", defaults.MaxPositions),
            Tied = arguments.Has("tied"),
            FillVocab = arguments.Has("fill-vocab"),
            NoEos = arguments.Has("no-eos"),
            Shards = arguments.GetInt("shards", defaults.Shards),
            Dtype = dtype,
            Seed = arguments.GetInt("seed", defaults.Seed),
            Architecture = arguments.Get("architecture", defaults.Architecture),
        };
        string output = Path.GetFullPath(arguments.Get("out"));
        TinyModel.Write(output, spec);
        Console.WriteLine(output);
        return 0;
    }
}
