using HyperDex.Runtime.Compiled;

namespace HyperDex.TestTools.Bench;

/// <summary>
/// The benchmark's pure arithmetic (kept apart so a unit test can check it): medians, the bytes a decode step must
/// read, the FLOPs a prefill must do, and the efficiency ratios against the machine's measured limits.
/// </summary>
public static class BenchMath
{
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            throw new ArgumentException("no samples", nameof(values));
        }

        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>
    /// Weight bytes one decode step streams: every tensor of the image once, except the embedding table, of which a
    /// step reads one row, unless the image has no lm_head (tied embeddings on one device): then the logits read all
    /// of embed.
    /// </summary>
    public static long DecodeWeightBytes(ParamIndex index)
    {
        bool embedIsHead = index.Tensors.All(t => t.Name != "lm_head");
        long total = 0;
        foreach (var tensor in index.Tensors)
        {
            total += tensor.Name == "embed" && !embedIsHead ? tensor.Length / tensor.Shape[0] : tensor.Length;
        }

        return total;
    }

    /// <summary>
    /// Mean KV bytes a decode step reads when <paramref name="decodeTokens"/> steps follow a prompt of
    /// <paramref name="promptTokens"/>: step i attends over prompt + i + 1 positions (keys and values of every layer).
    /// </summary>
    public static double DecodeKvBytes(double kvBytesPerPosition, int promptTokens, int decodeTokens) =>
        kvBytesPerPosition * (promptTokens + ((decodeTokens + 1) / 2.0));

    /// <summary>
    /// FLOPs of a prefill of <paramref name="tokens"/> positions (a multiply-add counts 2): every projection matrix for
    /// every token, lm_head for the last token only (the engine computes one row of logits), and causal attention
    /// (q·k and p·v, 2 · headDim each per head and attended position; token t attends over t + 1 positions).
    /// </summary>
    public static double PrefillFlops(ModelArchitecture architecture, int tokens)
    {
        long hidden = architecture.HiddenSize;
        long q = (long)architecture.Heads * architecture.HeadDim;
        long kv = (long)architecture.KvHeads * architecture.HeadDim;
        long perLayer = (hidden * (q + (2 * kv))) + (q * hidden) + (3 * hidden * architecture.IntermediateSize);
        double projections = 2.0 * tokens * architecture.Layers * perLayer;
        double head = 2.0 * architecture.VocabSize * hidden;
        double attendedPositions = tokens * (tokens + 1.0) / 2;
        double attention = architecture.Layers * architecture.Heads * 4.0 * architecture.HeadDim * attendedPositions;
        return projections + head + attention;
    }

    /// <summary>Decode bandwidth efficiency: bytes read per token × tokens/s over the measured read bandwidth.</summary>
    public static double BandwidthEfficiency(double bytesPerToken, double tokensPerSecond, double bandwidthBytesPerSecond) =>
        bytesPerToken * tokensPerSecond / bandwidthBytesPerSecond;

    /// <summary>Prefill FLOP efficiency: FLOPs of the prompt over its time, over the measured peak FLOP/s.</summary>
    public static double FlopEfficiency(double flops, double seconds, double peakFlopsPerSecond) =>
        flops / seconds / peakFlopsPerSecond;
}
