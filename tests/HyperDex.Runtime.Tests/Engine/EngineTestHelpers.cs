using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Generation;

namespace HyperDex.Runtime.Tests.Engine;

internal static class EngineTestHelpers
{
    /// <summary>Prefills <paramref name="prompt"/> then decodes <paramref name="extra"/> given tokens; logits after each step.</summary>
    public static List<float[]> Run(HostEngine engine, int[] prompt, int[] extra)
    {
        var results = new List<float[]>();
        using var sequence = engine.CreateSequence(prompt.Length + extra.Length);
        var logits = new float[engine.VocabSize];
        engine.Forward(sequence, prompt, logits);
        results.Add((float[])logits.Clone());
        foreach (int token in extra)
        {
            engine.Forward(sequence, [token], logits);
            results.Add((float[])logits.Clone());
        }

        return results;
    }

    public static List<int> Greedy(HostEngine engine, int[] prompt, int count)
    {
        using var sequence = engine.CreateSequence(prompt.Length + count);
        var logits = new float[engine.VocabSize];
        var output = new List<int>();
        engine.Forward(sequence, prompt, logits);
        for (int i = 0; i < count; i++)
        {
            int next = Sampler.ArgMax(logits);
            output.Add(next);
            if (i + 1 < count)
            {
                engine.Forward(sequence, [next], logits);
            }
        }

        return output;
    }

    /// <summary>max |a - b| / max |b|.</summary>
    public static double RelativeError(IReadOnlyList<float> actual, IReadOnlyList<double> expected)
    {
        double scale = expected.Max(Math.Abs);
        double error = 0;
        for (int i = 0; i < expected.Count; i++)
        {
            error = Math.Max(error, Math.Abs(actual[i] - expected[i]));
        }

        return error / scale;
    }
}
