namespace HyperDex.Runtime.Serving;

/// <summary>
/// A chosen token's log-probability and the most likely alternatives, under the model's own distribution (log-softmax
/// of the raw logits, before penalties, temperature and truncation), as vLLM reports them by default.
/// </summary>
internal sealed record TokenLogprobs(float Logprob, (int Id, float Logprob)[] Top)
{
    public static TokenLogprobs From(ReadOnlySpan<float> logits, int chosen, int topCount)
    {
        float max = float.NegativeInfinity;
        foreach (float value in logits)
        {
            max = Math.Max(max, value);
        }

        double sum = 0;
        foreach (float value in logits)
        {
            sum += Math.Exp(value - max);
        }

        float logSum = (float)(max + Math.Log(sum));
        // Insertion into a sorted array of topCount entries: topCount is at most 20.
        var top = new (int Id, float Logprob)[topCount];
        int filled = 0;
        for (int id = 0; id < logits.Length && topCount > 0; id++)
        {
            float value = logits[id];
            if (filled == topCount && value <= top[filled - 1].Logprob)
            {
                continue;
            }

            int at = filled < topCount ? filled++ : filled - 1;
            while (at > 0 && top[at - 1].Logprob < value)
            {
                top[at] = top[at - 1];
                at--;
            }

            top[at] = (id, value);
        }

        for (int i = 0; i < top.Length; i++)
        {
            top[i].Logprob -= logSum;
        }

        return new TokenLogprobs(logits[chosen] - logSum, top);
    }
}
