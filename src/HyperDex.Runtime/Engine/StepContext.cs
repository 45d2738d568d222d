namespace HyperDex.Runtime.Engine;

/// <summary>What every device needs to know about the current forward step; written by the caller before the step.</summary>
internal sealed class StepContext
{
    public StepContext(int vocabSize) => Logits = new ActivationBuffer("logits", vocabSize);

    /// <summary>Token ids of the step's rows (the first <see cref="Rows"/> entries).</summary>
    public int[] Tokens { get; set; } = new int[1];

    public int Rows { get; set; }

    /// <summary>Sequence position of row 0.</summary>
    public int Start { get; set; }

    public int[] BlockTable { get; set; } = Array.Empty<int>();

    /// <summary>The full-vocabulary logits of the step's last row, assembled from every device's slice.</summary>
    public ActivationBuffer Logits { get; }
}
