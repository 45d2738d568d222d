namespace HyperDex.Runtime.Engine;

/// <summary>
/// What every device needs to know about the current forward step; written by the caller before the step. A step's
/// rows may come from several sequences (batched decode): each row carries its own position and block table.
/// </summary>
internal sealed class StepContext
{
    public StepContext(int vocabSize)
    {
        VocabSize = vocabSize;
        Logits = new ActivationBuffer("logits", vocabSize);
    }

    public int VocabSize { get; }

    /// <summary>Token ids of the step's rows (the first <see cref="Rows"/> entries).</summary>
    public int[] Tokens { get; set; } = new int[1];

    public int Rows { get; set; }

    /// <summary>Sequence position of each row.</summary>
    public int[] Positions { get; set; } = new int[1];

    /// <summary>The block table of each row's sequence.</summary>
    public int[][] BlockTables { get; set; } = [Array.Empty<int>()];

    /// <summary>True when all rows are consecutive positions of one sequence (prefill or a lone decode).</summary>
    public bool SingleSequence { get; set; } = true;

    /// <summary>Sequence position of row 0 (with <see cref="SingleSequence"/>).</summary>
    public int Start => Positions[0];

    /// <summary>The one sequence's block table (with <see cref="SingleSequence"/>).</summary>
    public int[] BlockTable => BlockTables[0];

    /// <summary>Rows whose logits the step returns, in order: row <c>LogitRows[i]</c>'s go to logits row i.</summary>
    public int[] LogitRows { get; set; } = [0];

    public int LogitCount { get; set; } = 1;

    /// <summary>The full-vocabulary logits of the <see cref="LogitRows"/>, assembled from every device's slice.</summary>
    public ActivationBuffer Logits { get; }

    /// <summary>Sizes the per-row arrays for <paramref name="rows"/> rows and <paramref name="logitRows"/> logit rows (grows only).</summary>
    public void EnsureRows(int rows, int logitRows)
    {
        if (Tokens.Length < rows)
        {
            Tokens = new int[rows];
            Positions = new int[rows];
            BlockTables = new int[rows][];
            LogitRows = new int[rows];
        }

        Logits.EnsureRows(logitRows);
    }
}
