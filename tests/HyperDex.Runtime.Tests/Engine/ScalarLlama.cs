namespace HyperDex.Runtime.Tests.Engine;

/// <summary>
/// The independent numeric reference: HF LlamaForCausalLM's forward pass written out plainly in double precision,
/// straight from the HF weights, recomputing the whole sequence every call (no cache, no batching, no SIMD).
/// </summary>
public sealed class ScalarLlama
{
    private readonly HfCheckpoint _c;
    private readonly double[] _inverseFrequency;

    public ScalarLlama(HfCheckpoint checkpoint)
    {
        _c = checkpoint;
        _inverseFrequency = InverseFrequency();
    }

    /// <summary>Logits of the last position after running <paramref name="tokens"/>.</summary>
    public double[] Logits(IReadOnlyList<int> tokens)
    {
        int n = tokens.Count, d = _c.Hidden, hd = _c.HeadDim, heads = _c.Heads, kv = _c.KvHeads;
        var x = new double[n][];
        for (int t = 0; t < n; t++)
        {
            x[t] = Row(_c.Get("model.embed_tokens.weight"), tokens[t], d);
        }

        for (int l = 0; l < _c.Layers; l++)
        {
            string p = $"model.layers.{l}.";
            var q = new double[n][];
            var k = new double[n][];
            var v = new double[n][];
            for (int t = 0; t < n; t++)
            {
                double[] h = RmsNorm(x[t], _c.Get(p + "input_layernorm.weight"));
                q[t] = Rope(Project(p + "self_attn.q_proj", h, heads * hd), t);
                k[t] = Rope(Project(p + "self_attn.k_proj", h, kv * hd), t);
                v[t] = Project(p + "self_attn.v_proj", h, kv * hd);
            }

            for (int t = 0; t < n; t++)
            {
                var attention = new double[heads * hd];
                for (int head = 0; head < heads; head++)
                {
                    int g = head / (heads / kv);
                    var scores = new double[t + 1];
                    for (int s = 0; s <= t; s++)
                    {
                        double dot = 0;
                        for (int i = 0; i < hd; i++)
                        {
                            dot += q[t][head * hd + i] * k[s][g * hd + i];
                        }

                        scores[s] = dot / Math.Sqrt(hd);
                    }

                    double max = scores.Max();
                    double sum = scores.Sum(z => Math.Exp(z - max));
                    for (int s = 0; s <= t; s++)
                    {
                        double w = Math.Exp(scores[s] - max) / sum;
                        for (int i = 0; i < hd; i++)
                        {
                            attention[head * hd + i] += w * v[s][g * hd + i];
                        }
                    }
                }

                Add(x[t], MatVec(_c.Get(p + "self_attn.o_proj.weight"), attention, d));
                double[] h2 = RmsNorm(x[t], _c.Get(p + "post_attention_layernorm.weight"));
                double[] gate = MatVec(_c.Get(p + "mlp.gate_proj.weight"), h2, _c.Intermediate);
                double[] up = MatVec(_c.Get(p + "mlp.up_proj.weight"), h2, _c.Intermediate);
                for (int i = 0; i < gate.Length; i++)
                {
                    gate[i] = gate[i] / (1 + Math.Exp(-gate[i])) * up[i];
                }

                Add(x[t], MatVec(_c.Get(p + "mlp.down_proj.weight"), gate, d));
            }
        }

        return MatVec(_c.LmHead, RmsNorm(x[n - 1], _c.Get("model.norm.weight")), _c.Vocab);
    }

    /// <summary>Greedy generation by full recomputation.</summary>
    public List<int> Greedy(IReadOnlyList<int> prompt, int count)
    {
        var tokens = prompt.ToList();
        for (int i = 0; i < count; i++)
        {
            double[] logits = Logits(tokens);
            int best = 0;
            for (int j = 1; j < logits.Length; j++)
            {
                if (logits[j] > logits[best])
                {
                    best = j;
                }
            }

            tokens.Add(best);
        }

        return tokens.Skip(prompt.Count).ToList();
    }

    /// <summary>A Linear layer: weight, plus bias when the checkpoint has one (Qwen2's q/k/v).</summary>
    private double[] Project(string name, double[] x, int rows)
    {
        double[] y = MatVec(_c.Get(name + ".weight"), x, rows);
        if (_c.Tensors.TryGetValue(name + ".bias", out var bias))
        {
            for (int i = 0; i < rows; i++)
            {
                y[i] += bias.Data[i];
            }
        }

        return y;
    }

    private double[] InverseFrequency()
    {
        int hd = _c.HeadDim;
        var inv = new double[hd / 2];
        for (int i = 0; i < inv.Length; i++)
        {
            inv[i] = 1.0 / Math.Pow(_c.RopeTheta, 2.0 * i / hd);
        }

        var scaling = _c.Config["rope_scaling"];
        string? type = scaling?["rope_type"]?.GetValue<string>() ?? scaling?["type"]?.GetValue<string>();
        if (type == "linear")
        {
            double factor = scaling!["factor"]!.GetValue<double>();
            for (int i = 0; i < inv.Length; i++)
            {
                inv[i] /= factor;
            }
        }
        else if (type == "llama3")
        {
            double factor = scaling!["factor"]!.GetValue<double>();
            double low = scaling["low_freq_factor"]!.GetValue<double>();
            double high = scaling["high_freq_factor"]!.GetValue<double>();
            double old = scaling["original_max_position_embeddings"]!.GetValue<double>();
            for (int i = 0; i < inv.Length; i++)
            {
                double wavelength = 2 * Math.PI / inv[i];
                if (wavelength < old / high)
                {
                    continue; // high frequency: unchanged
                }

                if (wavelength > old / low)
                {
                    inv[i] /= factor; // low frequency: fully scaled
                    continue;
                }

                double smooth = (old / wavelength - low) / (high - low);
                inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
            }
        }

        return inv;
    }

    private double[] Rope(double[] vector, int position)
    {
        int hd = _c.HeadDim, half = hd / 2;
        var result = new double[vector.Length];
        for (int offset = 0; offset < vector.Length; offset += hd)
        {
            for (int i = 0; i < half; i++)
            {
                double angle = position * _inverseFrequency[i];
                double a = vector[offset + i], b = vector[offset + i + half];
                result[offset + i] = a * Math.Cos(angle) - b * Math.Sin(angle);
                result[offset + i + half] = b * Math.Cos(angle) + a * Math.Sin(angle);
            }
        }

        return result;
    }

    private double[] RmsNorm(double[] x, float[] weight)
    {
        double mean = x.Sum(v => v * v) / x.Length;
        double inverse = 1 / Math.Sqrt(mean + _c.Eps);
        return x.Select((v, i) => v * inverse * weight[i]).ToArray();
    }

    private static double[] MatVec(float[] matrix, double[] x, int rows)
    {
        var y = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int i = 0; i < x.Length; i++)
            {
                sum += matrix[r * x.Length + i] * x[i];
            }

            y[r] = sum;
        }

        return y;
    }

    private static double[] Row(float[] matrix, int row, int width) => matrix.AsSpan(row * width, width).ToArray().Select(v => (double)v).ToArray();

    private static void Add(double[] x, double[] delta)
    {
        for (int i = 0; i < x.Length; i++)
        {
            x[i] += delta[i];
        }
    }
}
