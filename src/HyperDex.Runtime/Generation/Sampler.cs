namespace HyperDex.Runtime.Generation;

/// <summary>
/// Chooses the next token as HF generate does: repetition penalty (every distinct id of prompt and output: divide a
/// positive logit, multiply a negative one), then greedy argmax, or temperature → top-k → top-p → multinomial draw
/// from a seeded generator. All buffers are allocated once per generation, none per token.
/// </summary>
public sealed class Sampler
{
    private readonly ResolvedSampling _options;
    private readonly Random _random;
    private readonly bool[] _seen;
    private readonly int[] _seenIds;
    private readonly float[] _sortedScores;
    private readonly int[] _sortedIds;
    private int _seenCount;

    public Sampler(ResolvedSampling options, int vocabSize)
    {
        _options = options;
        _random = new Random(options.Seed);
        _seen = new bool[vocabSize];
        _seenIds = new int[vocabSize];
        _sortedScores = new float[vocabSize];
        _sortedIds = new int[vocabSize];
    }

    /// <summary>Adds ids to the history the repetition penalty looks at (the prompt, then each chosen token).</summary>
    public void Observe(int id)
    {
        if ((uint)id < (uint)_seen.Length && !_seen[id])
        {
            _seen[id] = true;
            _seenIds[_seenCount++] = id;
        }
    }

    /// <summary>Picks the next id from <paramref name="logits"/> (modified in place) and its log-probability under the final distribution.</summary>
    public int Next(Span<float> logits, out float logprob)
    {
        ApplyRepetitionPenalty(logits);
        int chosen;
        if (_options.IsGreedy)
        {
            chosen = ArgMax(logits);
            logprob = LogSoftmaxAt(logits, chosen);
            return chosen;
        }

        // Subtract the largest logit before dividing by the temperature, in double: the best token scores exactly 0
        // and every other one (l - max) / T <= 0, so a tiny temperature drives the others to -Inf (probability 0)
        // instead of overflowing every score to ±Inf (whose differences are NaN). As T → 0 this becomes greedy.
        int best = ArgMax(logits);
        double inverseTemperature = 1 / _options.Temperature;
        if (!double.IsFinite(inverseTemperature) || float.IsNegativeInfinity(logits[best]))
        {
            logprob = 0;
            return best;
        }

        double largest = logits[best];
        for (int i = 0; i < logits.Length; i++)
        {
            logits[i] = (float)((logits[i] - largest) * inverseTemperature);
        }

        // Ascending order, as HF's top-p warper sorts.
        logits.CopyTo(_sortedScores);
        for (int i = 0; i < _sortedIds.Length; i++)
        {
            _sortedIds[i] = i;
        }

        Array.Sort(_sortedScores, _sortedIds);
        int n = _sortedScores.Length;
        int first = 0; // entries [first, n) survive
        if (_options.TopK > 0 && _options.TopK < n)
        {
            float threshold = _sortedScores[n - _options.TopK];
            while (_sortedScores[first] < threshold)
            {
                first++;
            }
        }

        if (_options.TopP < 1)
        {
            double max = _sortedScores[n - 1];
            double total = 0;
            for (int i = first; i < n; i++)
            {
                total += Math.Exp(_sortedScores[i] - max);
            }

            // Remove the low tail whose cumulative probability stays <= 1 - top_p; always keep the most likely token.
            double cumulative = 0;
            int keepFrom = first;
            for (int i = first; i < n - 1; i++)
            {
                cumulative += Math.Exp(_sortedScores[i] - max) / total;
                if (cumulative <= 1 - _options.TopP)
                {
                    keepFrom = i + 1;
                }
                else
                {
                    break;
                }
            }

            first = keepFrom;
        }

        double top = _sortedScores[n - 1];
        double sum = 0;
        for (int i = first; i < n; i++)
        {
            sum += Math.Exp(_sortedScores[i] - top);
        }

        double draw = _random.NextDouble() * sum;
        int pick = n - 1;
        double acc = 0;
        for (int i = first; i < n; i++)
        {
            acc += Math.Exp(_sortedScores[i] - top);
            if (draw < acc)
            {
                pick = i;
                break;
            }
        }

        chosen = _sortedIds[pick];
        logprob = (float)(_sortedScores[pick] - top - Math.Log(sum));
        return chosen;
    }

    private void ApplyRepetitionPenalty(Span<float> logits)
    {
        float penalty = (float)_options.RepetitionPenalty;
        if (penalty == 1f)
        {
            return;
        }

        for (int i = 0; i < _seenCount; i++)
        {
            int id = _seenIds[i];
            float score = logits[id];
            logits[id] = score < 0 ? score * penalty : score / penalty;
        }
    }

    internal static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }

    private static float LogSoftmaxAt(ReadOnlySpan<float> logits, int index)
    {
        float max = logits[ArgMax(logits)];
        double sum = 0;
        foreach (float value in logits)
        {
            sum += Math.Exp(value - max);
        }

        return (float)(logits[index] - max - Math.Log(sum));
    }
}
